import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

function recording(errorsPerTick: number): string {
  let text = '';
  for (let k = 0; k < 20; k++) {
    const t = 1_700_000_000_000 + k * 10_000;
    text += `# TYPE qsb_interactions_total counter\nqsb_interactions_total{outcome="ok"} ${k * 1000} ${t}\nqsb_interactions_total{outcome="error"} ${k * errorsPerTick} ${t}\n`;
  }
  return text;
}

// The verdict as a workflow sees it: the exit code of a separate `pnpm qsb analyze` process.
describe('pnpm qsb analyze (process)', () => {
  it('exits 1 on a rollback with the JSON verdict alone on stdout', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'qsb-cli-'));
    dirs.push(dir);
    await writeFile(join(dir, 'p.prom'), recording(10));
    await writeFile(join(dir, 'c.prom'), recording(300));
    const failure = await run('pnpm', [
      'qsb',
      'analyze',
      ...['--baseline', join(dir, 'p.prom'), '--canary', join(dir, 'c.prom'), '--json'],
    ]).catch((error: { code: number; stdout: string; stderr: string }) => error);
    expect('code' in failure && failure.code).toBe(1);
    expect(JSON.parse(failure.stdout).verdict).toBe('rollback');
    expect(failure.stderr).toContain('qsb: verdict: rollback');
  });
});
