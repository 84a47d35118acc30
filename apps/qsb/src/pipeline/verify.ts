import { parseExposition, type Scrape } from '@qsb/canary';
import { Catalog } from '@qsb/metrics';
import { parseShardingEnv, planShards, ShardingError } from '@qsb/sharding';
import type { SmokeTester } from './smoke.ts';

/** One deployment test and how it went. */
export interface Check {
  readonly name: string;
  readonly outcome: 'ok' | 'failed' | 'skipped';
  readonly detail: string;
}

/** What the deployment tests look at. */
export interface VerifyInput {
  readonly app: string;
  /** The app's HTTP addresses (one per process locally; Heroku's router on Heroku). */
  readonly urls: readonly string[];
  readonly config: Readonly<Record<string, string>>;
  /** The version every process must report (`v12`). */
  readonly expectVersion: string;
  /** The canary's share now (from the router); undefined for an app outside the canary pair. */
  readonly share: number | undefined;
  readonly smoke: SmokeTester | undefined;
}

interface Fetched {
  readonly url: string;
  readonly status: number | string;
  readonly text: string;
}

async function get(url: string, headers: Record<string, string> = {}): Promise<Fetched> {
  try {
    const res = await fetch(url, { headers, signal: AbortSignal.timeout(10_000) });
    return { url, status: res.status, text: await res.text() };
  } catch (error) {
    return { url, status: (error as Error).message, text: '' };
  }
}

function each(name: string, answers: readonly Fetched[], what: string): Check {
  const bad = answers.filter((a) => a.status !== 200);
  if (answers.length === 0)
    return { name, outcome: 'failed', detail: 'the app has no process with an HTTP address' };
  return bad.length === 0
    ? { name, outcome: 'ok', detail: `${answers.length} of ${answers.length} processes ${what}` }
    : {
        name,
        outcome: 'failed',
        detail: bad.map((a) => `${a.url} answered ${a.status} ${a.text.slice(0, 120).trim()}`).join('; '),
      };
}

/** The catalog's metrics a process declares: the Unleash connection gauge only with a server. */
function expectedMetrics(config: Readonly<Record<string, string>>): string[] {
  return Object.values(Catalog)
    .map((d) => d.name)
    .filter((n) => n !== Catalog.flagsServerConnected.name || Boolean(config.UNLEASH_URL));
}

function labelValues(scrapes: readonly Scrape[], label: string): Set<string> {
  const values = new Set<string>();
  for (const s of scrapes)
    for (const sample of s.samples)
      if (sample.name.startsWith('qsb_') && sample.labels[label] !== undefined)
        values.add(sample.labels[label]);
  return values;
}

/**
 * The deployment tests of `qsb verify`: `/healthz`, `/readyz`, `/metrics` parses and declares every
 * metric of the catalog, the version, the shard plan against the config and the canary's share, and a
 * smoke interaction. Each is a {@link Check}; none throws.
 */
export async function verifyDeployment(input: VerifyInput): Promise<Check[]> {
  const checks: Check[] = [];
  checks.push(each('healthz', await Promise.all(input.urls.map((u) => get(`${u}/healthz`))), 'alive'));
  checks.push(
    each(
      'readyz',
      await Promise.all(input.urls.map((u) => get(`${u}/readyz`))),
      'ready on every owned shard',
    ),
  );

  const token = input.config.METRICS_TOKEN;
  const metrics = await Promise.all(
    input.urls.map((u) => get(`${u}/metrics`, token ? { authorization: `Bearer ${token}` } : {})),
  );
  const scrapes: Scrape[] = [];
  const problems: string[] = [];
  for (const m of metrics) {
    if (m.status !== 200) {
      problems.push(`${m.url} answered ${m.status}`);
      continue;
    }
    try {
      const scrape = parseExposition(m.text, Date.now(), m.url);
      const missing = expectedMetrics(input.config).filter((n) => !scrape.types.has(n));
      if (missing.length > 0) problems.push(`${m.url} lacks ${missing.join(', ')}`);
      scrapes.push(scrape);
    } catch (error) {
      problems.push((error as Error).message);
    }
  }
  checks.push(
    problems.length === 0 && scrapes.length > 0
      ? {
          name: 'metrics',
          outcome: 'ok',
          detail: `parses and declares the ${expectedMetrics(input.config).length} metrics of the catalog`,
        }
      : { name: 'metrics', outcome: 'failed', detail: problems.join('; ') || 'no /metrics answered' },
  );

  const versions = [...labelValues(scrapes, 'version')];
  checks.push(
    versions.length === 1 && versions[0] === input.expectVersion
      ? { name: 'version', outcome: 'ok', detail: `every process reports ${input.expectVersion}` }
      : {
          name: 'version',
          outcome: 'failed',
          detail: `expected ${input.expectVersion}, the processes report ${versions.join(', ') || 'no version'}`,
        },
  );

  const plan = planCheck(input, scrapes);
  checks.push(plan.check);
  if (input.smoke === undefined) {
    checks.push({
      name: 'smoke',
      outcome: 'skipped',
      detail: 'no Discord to test against (QSB_SMOKE_GUILD unset)',
    });
  } else if (plan.shards === undefined) {
    checks.push({ name: 'smoke', outcome: 'skipped', detail: 'the shard plan is unknown' });
  } else {
    try {
      checks.push({ name: 'smoke', ...(await input.smoke({ app: input.app, ...plan.shards })) });
    } catch (error) {
      checks.push({ name: 'smoke', outcome: 'failed', detail: (error as Error).message });
    }
  }
  return checks;
}

function planCheck(
  input: VerifyInput,
  scrapes: readonly Scrape[],
): {
  check: Check;
  shards?: { deployment: 'canary' | 'production'; shardIds: readonly number[]; shardCount: number };
} {
  const name = 'shard plan';
  let env: ReturnType<typeof parseShardingEnv>;
  try {
    env = parseShardingEnv({
      ...input.config,
      ...(input.share === undefined ? {} : { SHARD_PERCENT: String(input.share) }),
      DYNO: undefined,
    });
  } catch (error) {
    if (error instanceof ShardingError)
      return { check: { name, outcome: 'failed', detail: `the app's config: ${error.message}` } };
    throw error;
  }
  const ready = new Set<number>();
  for (const s of scrapes)
    for (const sample of s.samples)
      if (sample.name === Catalog.shardReady.name && sample.value === 1)
        ready.add(Number(sample.labels.shard));
  const readyIds = [...ready].sort((a, b) => a - b);
  if (env.shardCount === undefined) {
    return {
      check: {
        name,
        outcome: 'skipped',
        detail: `SHARD_COUNT is unset (Discord's recommendation); ${readyIds.length} shards ready`,
      },
    };
  }
  const plan = planShards({
    shardCount: env.shardCount,
    percent: env.percent,
    maxConcurrency: env.maxConcurrency ?? 1,
    canaryTakesShardZero: env.canaryTakesShardZero,
  });
  const expected = plan[env.deployment];
  const shards = { deployment: env.deployment, shardIds: expected, shardCount: env.shardCount };
  const same = expected.length === readyIds.length && expected.every((id, i) => readyIds[i] === id);
  return {
    shards,
    check: same
      ? {
          name,
          outcome: 'ok',
          detail: `${env.deployment} at ${env.percent}% of ${env.shardCount}: shards ${expected.join(',') || '(none)'} ready`,
        }
      : {
          name,
          outcome: 'failed',
          detail: `${env.deployment} at ${env.percent}% of ${env.shardCount} should own ${expected.join(',') || '(none)'}; ready: ${readyIds.join(',') || '(none)'}`,
        },
  };
}

/** The report: one line per check, then the outcome. */
export function formatChecks(app: string, checks: readonly Check[]): string[] {
  const mark = { ok: 'ok  ', failed: 'FAIL', skipped: 'skip' } as const;
  const failed = checks.filter((c) => c.outcome === 'failed').length;
  return [
    `verify ${app}:`,
    ...checks.map((c) => `  ${mark[c.outcome]} ${c.name.padEnd(10)} ${c.detail}`),
    failed === 0 ? `${app}: all checks passed` : `${app}: ${failed} of ${checks.length} checks failed`,
  ];
}
