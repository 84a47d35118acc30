import type { AppName, DemoPlatform } from '../platform/platform.ts';

/** One app as its own /metrics describes it. */
export interface DeploymentState {
  readonly app: AppName;
  readonly running: boolean;
  /** The release the platform runs (or last ran) for this app. */
  readonly release: string | undefined;
  /** The `version` label the process reports. */
  readonly version: string | undefined;
  readonly shardsOwned: number;
  readonly interactions: { readonly ok: number; readonly error: number; readonly timeout: number };
  /** Mean handling time in ms, from the duration histogram. */
  readonly meanLatencyMs: number | undefined;
  readonly residentMemoryBytes: number | undefined;
  readonly restarts: number;
  readonly pid: number | undefined;
  readonly url: string | undefined;
}

/** Sums the samples of `name` whose labels contain every `key="value"` of `match`. */
export function sumSamples(
  text: string,
  name: string,
  match: Record<string, string> = {},
): number | undefined {
  let total: number | undefined;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const labels = line.slice(name.length, line.lastIndexOf(' '));
    if (Object.entries(match).every(([k, v]) => labels.includes(`${k}="${v}"`))) {
      total = (total ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return total;
}

/** Reads one app's state from the platform and its /metrics (a process that does not answer counts as down). */
export async function readDeployment(
  platform: DemoPlatform,
  app: AppName,
  timeoutMs = 2_000,
): Promise<DeploymentState> {
  const status = platform.status(app);
  let text = '';
  if (status?.url && status.pid !== undefined) {
    const res = await fetch(`${status.url}/metrics`, { signal: AbortSignal.timeout(timeoutMs) }).catch(
      () => undefined,
    );
    text = res?.ok ? await res.text() : '';
  }
  const version = /qsb_shards_owned\{[^}]*version="([^"]+)"/.exec(text)?.[1];
  const count = sumSamples(text, 'qsb_interaction_duration_seconds_count');
  const sum = sumSamples(text, 'qsb_interaction_duration_seconds_sum');
  return {
    app,
    running: text !== '',
    release: status?.release.version,
    version,
    shardsOwned: sumSamples(text, 'qsb_shards_owned') ?? 0,
    interactions: {
      ok: sumSamples(text, 'qsb_interactions_total', { outcome: 'ok' }) ?? 0,
      error: sumSamples(text, 'qsb_interactions_total', { outcome: 'error' }) ?? 0,
      timeout: sumSamples(text, 'qsb_interactions_total', { outcome: 'timeout' }) ?? 0,
    },
    meanLatencyMs: count && sum !== undefined ? (sum / count) * 1000 : undefined,
    residentMemoryBytes: sumSamples(text, 'process_resident_memory_bytes'),
    restarts: status?.restarts ?? 0,
    pid: status?.pid,
    url: status?.url,
  };
}
