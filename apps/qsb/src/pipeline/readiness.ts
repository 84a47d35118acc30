import type { Platform } from '@qsb/platform';
import { CliError } from '../cli/errors.ts';

/** How readiness is waited for: the clock and the pause between looks. */
export interface ReadinessOptions {
  readonly timeoutMs: number;
  readonly now: () => Date;
  readonly sleep: (ms: number) => Promise<void>;
  /** @defaultValue 500 */
  readonly intervalMs?: number;
}

async function status(url: string): Promise<number | string> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
    await res.body?.cancel();
    return res.status;
  } catch (error) {
    return (error as Error).message;
  }
}

/**
 * Waits until every process of `app` runs release `version` and is up, and, where the platform gives
 * HTTP addresses, answers `/readyz` with 200 (every owned shard READY). A worker on Heroku has no
 * address: its dyno state is all there is. A crashed process fails at once.
 */
export async function waitReady(
  platform: Platform,
  app: string,
  version: number,
  options: ReadinessOptions,
): Promise<void> {
  const deadline = options.now().getTime() + options.timeoutMs;
  let last = 'no process yet';
  for (;;) {
    const dynos = await platform.dynos(app);
    const crashed = dynos.find((d) => d.state === 'crashed' && d.releaseVersion === version);
    if (crashed) throw new CliError(`${app} v${version}: ${crashed.name} crashed (see its log)`);
    const current = dynos.filter((d) => d.releaseVersion === version);
    if (current.length > 0 && current.length === dynos.length && current.every((d) => d.state === 'up')) {
      const urls = await platform.webUrls(app);
      const answers = await Promise.all(urls.map((u) => status(`${u}/readyz`)));
      if (answers.every((a) => a === 200)) return;
      last = `/readyz answered ${answers.join(', ')}`;
    } else {
      last =
        dynos.length === 0
          ? 'no process yet'
          : dynos.map((d) => `${d.name} ${d.state} v${d.releaseVersion}`).join(', ');
    }
    if (options.now().getTime() >= deadline) {
      throw new CliError(
        `${app} v${version} not ready after ${Math.round(options.timeoutMs / 1000)}s: ${last}`,
      );
    }
    await options.sleep(options.intervalMs ?? 500);
  }
}
