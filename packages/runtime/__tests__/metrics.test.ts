import { spawn } from 'node:child_process';
import { type DiscordSimHandle, startDiscordSim } from '@qsb/discord-sim';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../../test/support/wait.ts';
import type { Runtime } from '../src/runtime.ts';
import { TestStore } from './support/memory-store.ts';
import { startTestRuntime } from './support/runtime.ts';

/** Runs `promtool check metrics` (Debian's promtool) on `text`: its exit code and what it printed. */
function promtoolCheck(text: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('promtool', ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => {
      out += String(d);
    });
    child.stderr.on('data', (d) => {
      out += String(d);
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out }));
    child.stdin.end(text);
  });
}

let sim: DiscordSimHandle;
let runtime: Runtime;

beforeAll(async () => {
  sim = await startDiscordSim({ guilds: 20, shards: 3, identifyWindowMs: 50 });
  ({ runtime } = await startTestRuntime(sim, new TestStore(), { SHARD_COUNT: '3' }));
  await runtime.ready;
  for (let i = 0; i < 5; i++) sim.sendInteraction({ command: 'ping' });
  await waitFor('the answers', () => (sim.stats().interactions.answered.zero === 0 ? true : undefined));
});

afterAll(async () => {
  await runtime?.stop();
  await sim?.close();
});

describe('/metrics', () => {
  it('passes promtool check metrics', async () => {
    const text = await (await fetch(`http://127.0.0.1:${runtime.port}/metrics`)).text();
    expect(text).toContain('process_cpu_user_seconds_total');
    expect(text).not.toContain('nodejs_active_handles_total');
    const { code, out } = await promtoolCheck(text);
    expect(out).toBe('');
    expect(code).toBe(0);
  });

  it('promtool does fail on a gauge named like a counter (the check can fail)', async () => {
    const { code, out } = await promtoolCheck('# HELP x_total x\n# TYPE x_total gauge\nx_total 1\n');
    expect(code).not.toBe(0);
    expect(out).toContain('non-counter metrics should not have "_total" suffix');
  });

  it('has every per-shard counter at 0 for every owned shard from the start', async () => {
    const text = await (await fetch(`http://127.0.0.1:${runtime.port}/metrics`)).text();
    for (const name of [
      'qsb_shard_reconnects_total',
      'qsb_shard_resumes_total',
      'qsb_shard_invalid_sessions_total',
    ]) {
      for (const shard of [0, 1, 2]) {
        expect(text).toMatch(new RegExp(`^${name}\\{shard="${shard}"[^}]*\\} 0$`, 'm'));
      }
    }
  });
});
