import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createBotMetrics } from '@qsb/metrics';
import { Registry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';

// deploy/prometheus checked and unit-tested by the real promtool, so that CI runs them.

const run = promisify(execFile);
const root = join(import.meta.dirname, '..');
const deploy = join(root, 'deploy', 'prometheus');
const dirs: string[] = [];

afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

async function promtool(args: string[], cwd = deploy): Promise<{ code: number; out: string }> {
  try {
    const { stdout, stderr } = await run('promtool', args, { cwd });
    return { code: 0, out: stdout + stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, out: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

describe('deploy/prometheus (promtool)', () => {
  it('the recording and alerting rules are valid', async () => {
    const { code, out } = await promtool(['check', 'rules', 'rules/recording.yml', 'rules/alerts.yml']);
    expect(out).toContain('SUCCESS: 12 rules found');
    expect(out).toContain('SUCCESS: 11 rules found');
    expect(code).toBe(0);
  });

  it('the alerts fire on the series that must fire them, and only those', async () => {
    const { code, out } = await promtool(['test', 'rules', 'tests/alerts.test.yml']);
    expect(out).toContain('SUCCESS');
    expect(code).toBe(0);
  });

  it('the unit tests can fail: a looser error tolerance fires on the 1.4x canary', async () => {
    // The same tests against rules whose error tolerance is 1.3x instead of 1.5x.
    const dir = await mkdtemp(join(tmpdir(), 'qsb-rules-'));
    dirs.push(dir);
    await mkdir(join(dir, 'rules'));
    await mkdir(join(dir, 'tests'));
    await copyFile(join(deploy, 'rules', 'recording.yml'), join(dir, 'rules', 'recording.yml'));
    await copyFile(join(deploy, 'tests', 'alerts.test.yml'), join(dir, 'tests', 'alerts.test.yml'));
    const alerts = await readFile(join(deploy, 'rules', 'alerts.yml'), 'utf8');
    const looser = alerts.replace(
      '1.5 * deployment:qsb_interaction_error_ratio',
      '1.3 * deployment:qsb_interaction_error_ratio',
    );
    expect(looser).not.toBe(alerts);
    await writeFile(join(dir, 'rules', 'alerts.yml'), looser);
    const { code, out } = await promtool(['test', 'rules', 'tests/alerts.test.yml'], dir);
    expect(code).not.toBe(0);
    expect(out).toContain('alertname: QsbCanaryErrorRatio, time: 30m');
  });

  it('the scrape configuration is valid (its token file aside)', async () => {
    // promtool also checks that credentials files exist: point it at a temporary one.
    const dir = await mkdtemp(join(tmpdir(), 'qsb-prom-config-'));
    dirs.push(dir);
    await mkdir(join(dir, 'rules'));
    for (const f of ['recording.yml', 'alerts.yml']) {
      await copyFile(join(deploy, 'rules', f), join(dir, 'rules', f));
    }
    const token = join(dir, 'token');
    await writeFile(token, 'x'.repeat(32));
    const config = (await readFile(join(deploy, 'prometheus.yml'), 'utf8')).replaceAll(
      '/etc/prometheus/qsb-metrics-token',
      token,
    );
    await writeFile(join(dir, 'prometheus.yml'), config);
    const { code, out } = await promtool(['check', 'config', 'prometheus.yml'], dir);
    expect(out).toContain('SUCCESS: prometheus.yml is valid prometheus config file syntax');
    expect(code).toBe(0);
  });

  it("promtool check metrics accepts the bot's exposition, on both deployments", async () => {
    for (const deployment of ['production', 'canary'] as const) {
      const registry = new Registry();
      const metrics = createBotMetrics({ registry, deployment, version: 'v1', dyno: 'web.1' });
      metrics.observeInteraction('ping', 'ok', 0.012);
      metrics.shardReconnects.inc({ shard: '0' });
      const dir = await mkdtemp(join(tmpdir(), 'qsb-check-metrics-'));
      dirs.push(dir);
      await writeFile(join(dir, 'metrics.prom'), await registry.metrics());
      const { code, out } = await run('sh', ['-c', 'promtool check metrics < metrics.prom'], {
        cwd: dir,
      }).then(
        (r) => ({ code: 0, out: r.stdout + r.stderr }),
        (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, out: e.stdout + e.stderr }),
      );
      expect({ deployment, out }).toEqual({ deployment, out: '' });
      expect(code).toBe(0);
    }
  });
});
