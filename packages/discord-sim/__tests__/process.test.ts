import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { type DiscordSimHandle, startDiscordSim } from '../src/index.ts';

const FIXTURE = fileURLToPath(new URL('./fixtures/identify.mjs', import.meta.url));

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function identifyInProcess(s: DiscordSimHandle, shard: number, count: number, startAt: number) {
  const child = spawn(
    process.execPath,
    [FIXTURE, s.gatewayUrl, s.token, String(shard), String(count), String(startAt)],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  cleanups.push(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  return new Promise<{ pid: number; op: number; t: string | null; d: boolean | null }>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += String(chunk);
    });
    child.on('exit', () => {
      try {
        resolve(JSON.parse(out.trim()));
      } catch {
        reject(new Error(`child ${child.pid} printed ${JSON.stringify(out)}`));
      }
    });
  });
}

describe('two processes, one token', () => {
  it('identifying shards of the same bucket inside one window: one READY, the other INVALID_SESSION (d: false)', async () => {
    const s = await startDiscordSim({ guilds: 8, shards: 4, maxConcurrency: 2, identifyWindowMs: 5_000 });
    cleanups.push(() => s.close());
    // Shards 0 and 2 share bucket 0 (id % 2); both identify at the same moment from separate processes.
    const startAt = Date.now() + 400;
    const answers = await Promise.all([
      identifyInProcess(s, 0, 4, startAt),
      identifyInProcess(s, 2, 4, startAt),
    ]);
    const ready = answers.filter((a) => a.t === 'READY');
    const refused = answers.filter((a) => a.op === 9);
    expect(ready).toHaveLength(1);
    expect(refused).toEqual([expect.objectContaining({ op: 9, d: false })]);
    const identifies = s.stats().identifies;
    expect(identifies.map((i) => i.outcome).sort()).toEqual(['rate-limited', 'ready']);
    expect(new Set(identifies.map((i) => i.bucket))).toEqual(new Set([0]));
    // The IDENTIFY properties tell the two processes apart.
    expect(new Set(identifies.map((i) => i.properties.browser)).size).toBe(2);
  });

  it('shards of different buckets identify together', async () => {
    const s = await startDiscordSim({ guilds: 8, shards: 4, maxConcurrency: 2 });
    cleanups.push(() => s.close());
    const startAt = Date.now() + 400;
    const answers = await Promise.all([
      identifyInProcess(s, 0, 4, startAt),
      identifyInProcess(s, 1, 4, startAt),
    ]);
    expect(answers.map((a) => a.t)).toEqual(['READY', 'READY']);
  });
});
