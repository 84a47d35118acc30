import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Catalog, createBotMetrics } from '@qsb/metrics';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRolloutMetrics } from '../apps/qsb/src/dashboard/metrics.ts';
import { registerRouteMetrics } from '../packages/runtime/src/routing/metrics.ts';
import { type Child, freePort, startChild, stopChild, waitUntil } from './support/processes.ts';

// deploy/grafana's dashboard and deploy/prometheus' rules: every query parses as PromQL (a real
// Prometheus parses it) and names only metrics the bot, the monitor or the recording rules export.

const root = join(import.meta.dirname, '..');
let prometheus: Child | undefined;
let base = '';
let dir = '';

interface Panel {
  title?: string;
  targets?: { expr?: string }[];
  panels?: Panel[];
}

async function dashboardQueries(): Promise<{ panel: string; expr: string }[]> {
  const dashboard = JSON.parse(
    await readFile(join(root, 'deploy', 'grafana', 'dashboards', 'qsb-canary.json'), 'utf8'),
  ) as { panels: Panel[] };
  const out: { panel: string; expr: string }[] = [];
  const walk = (panels: Panel[]) => {
    for (const p of panels) {
      for (const t of p.targets ?? []) if (t.expr) out.push({ panel: p.title ?? '?', expr: t.expr });
      walk(p.panels ?? []);
    }
  };
  walk(dashboard.panels);
  return out;
}

/** The rules of deploy/prometheus as the real Prometheus loaded them. */
async function rules(): Promise<{ name: string; query: string; type: string }[]> {
  const answer = (await (await fetch(`${base}/api/v1/rules`)).json()) as {
    data: { groups: { rules: { name: string; query: string; type: string }[] }[] };
  };
  return answer.data.groups.flatMap((g) => g.rules);
}

/** Grafana's variables, as Grafana would fill them in before sending the query. */
function expand(expr: string): string {
  return expr
    .replaceAll('$__rate_interval', '1m')
    .replaceAll('$__interval', '1m')
    .replaceAll('$__range', '1h');
}

const Keywords = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'and',
  'or',
  'unless',
  'offset',
  'bool',
  'inf',
  'nan',
]);

/** The metric names a PromQL expression selects: identifiers that are not functions, keywords or labels. */
function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, '')
    .replace(/\[[^\]]*\]/g, '')
    .replace(/(?<![A-Za-z0-9_:])[0-9]*\.?[0-9]+(?:e[+-]?[0-9]+)?/gi, '')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '');
  const names = new Set<string>();
  for (const m of stripped.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*(?=\s*(\()?)/g)) {
    const word = m[0];
    if (m[1] !== undefined || Keywords.has(word.toLowerCase())) continue;
    names.add(word);
  }
  return [...names];
}

/** Every series name the bot and the monitor export (histograms as their _bucket, _sum and _count). */
async function exported(): Promise<Set<string>> {
  const bot = new Registry();
  createBotMetrics({ registry: bot, deployment: 'canary', version: 'v1' });
  // The runtime's routing metrics, as a process under QSB_ROUTE=live registers them.
  registerRouteMetrics(bot, () => undefined, 'memory:');
  const monitor = new Registry();
  createRolloutMetrics(monitor);
  // The catalog names what every part of the bot registers (the flags client adds its own two).
  const names = new Set<string>(Object.values(Catalog).map((d) => d.name));
  for (const m of [...(await bot.getMetricsAsJSON()), ...(await monitor.getMetricsAsJSON())]) {
    names.add(m.name);
    if (String(m.type) === 'histogram')
      for (const s of ['_bucket', '_sum', '_count']) names.add(`${m.name}${s}`);
    if (String(m.type) === 'summary') for (const s of ['_sum', '_count']) names.add(`${m.name}${s}`);
  }
  return names;
}

async function query(expr: string): Promise<{ status: string; error?: string }> {
  const response = await fetch(`${base}/api/v1/query?${new URLSearchParams({ query: expr })}`);
  return (await response.json()) as { status: string; error?: string };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'qsb-grafana-'));
  const ruleFiles = ['recording.yml', 'alerts.yml'].map((f) =>
    join(root, 'deploy', 'prometheus', 'rules', f),
  );
  await writeFile(
    join(dir, 'prometheus.yml'),
    `global: { scrape_interval: 15s }\nrule_files: ${JSON.stringify(ruleFiles)}\n`,
  );
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  prometheus = startChild('/usr/bin/prometheus', [
    `--config.file=${join(dir, 'prometheus.yml')}`,
    `--storage.tsdb.path=${join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
  ]);
  await waitUntil('Prometheus', async () => (await fetch(`${base}/-/ready`)).ok, prometheus);
}, 60_000);

afterAll(async () => {
  if (prometheus) await stopChild(prometheus);
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('deploy/grafana/dashboards/qsb-canary.json', () => {
  it('has queries for both sides and for the rollout state', async () => {
    const queries = await dashboardQueries();
    expect(queries.length).toBeGreaterThan(20);
    const all = queries.map((q) => q.expr).join('\n');
    for (const name of [
      'qsb_rollout_phase',
      'qsb_canary_shard_share',
      'qsb_judge_metric_decision',
      'qsb_judge_metric_lower',
    ]) {
      expect(all).toContain(name);
    }
  });

  it('every query parses as PromQL in a real Prometheus', async () => {
    for (const { panel, expr } of await dashboardQueries()) {
      const answer = await query(expand(expr));
      expect({ panel, expr, ...answer }).toMatchObject({ status: 'success' });
    }
  });

  it('every query names only metrics the bot or the monitor exports', async () => {
    const known = await exported();
    for (const { panel, expr } of await dashboardQueries()) {
      expect({ panel, unknown: metricNames(expr).filter((n) => !known.has(n)) }).toEqual({
        panel,
        unknown: [],
      });
    }
  });

  it('the checks can fail: a broken query is refused, an unknown metric is found', async () => {
    const broken = await query('sum by (deployment) (rate(qsb_interactions_total[1m])');
    expect(broken.status).toBe('error');
    expect(
      metricNames(
        'sum by (deployment) (rate(qsb_interaction_total{outcome="error"}[5m])) / on() qsb_shards_owned',
      ),
    ).toEqual(['qsb_interaction_total', 'qsb_shards_owned']);
  });
});

describe('deploy/prometheus rules', () => {
  it('load in a real Prometheus and read only exported metrics and the recording rules', async () => {
    const loaded = await rules();
    expect(loaded.filter((r) => r.type === 'recording')).toHaveLength(12);
    expect(loaded.filter((r) => r.type === 'alerting')).toHaveLength(11);
    const known = await exported();
    for (const r of loaded) if (r.type === 'recording') known.add(r.name);
    for (const r of loaded) {
      expect({ name: r.name, unknown: metricNames(r.query).filter((n) => !known.has(n)) }).toEqual({
        name: r.name,
        unknown: [],
      });
    }
  });
});
