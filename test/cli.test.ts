import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);

// The command line as operators run it: a separate process started through pnpm.
describe('pnpm qsb (process)', () => {
  it('prints only the JSON object on stdout', async () => {
    const { stdout } = await run('pnpm', ['qsb', 'shards', '--json'], {
      env: { ...process.env, CANARY: 'true', SHARD_PERCENT: '20', SHARD_COUNT: '16' },
    });
    const plan = JSON.parse(stdout);
    expect(plan.process.deployment).toBe('canary');
    expect(plan.process.shardIds).toEqual([1, 2, 3]);
  });

  it('exits non-zero with one line naming the variable', async () => {
    const failure = await run('pnpm', ['qsb', 'shards'], { env: { ...process.env, SHARD_COUNT: '0' } }).catch(
      (error: { code: number; stderr: string }) => error,
    );
    expect('code' in failure && failure.code).toBe(3);
    expect((failure as { stderr: string }).stderr).toContain(
      'qsb: invalid environment: SHARD_COUNT="0": must be an integer from 1 to',
    );
  });
});
