import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { qsb } from '../support/qsb.ts';

let dir = '';
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = '';
});

/** A recording of `ticks` scrapes, 10 s apart, with `errors(k)` failed interactions out of 100 k. */
function recording(ticks: number, errors: (k: number) => string): string {
  const blocks: string[] = [];
  for (let k = 0; k < ticks; k++) {
    const t = 1_700_000_000_000 + k * 10_000;
    blocks.push(
      [
        '# TYPE qsb_interactions_total counter',
        `qsb_interactions_total{command="ping",outcome="ok"} ${k * 1000} ${t}`,
        `qsb_interactions_total{command="ping",outcome="error"} ${errors(k)} ${t}`,
        '',
      ].join('\n'),
    );
  }
  return blocks.join('');
}

async function files(baseline: string, canary: string) {
  dir = await mkdtemp(join(tmpdir(), 'qsb-analyze-'));
  const b = join(dir, 'production.prom');
  const c = join(dir, 'canary.prom');
  await writeFile(b, baseline);
  await writeFile(c, canary);
  return ['--baseline', b, '--canary', c];
}

describe('qsb analyze', () => {
  it('rolls back a recorded error regression (exit 1)', async () => {
    const args = await files(
      recording(20, (k) => String(k * 10)),
      recording(20, (k) => String(k * 200)),
    );
    const { code, out } = await qsb(['analyze', ...args, '--json']);
    expect(code).toBe(1);
    expect(JSON.parse(out)).toMatchObject({ verdict: 'rollback', failed: ['errors'] });
  });

  it('waits (exit 2), never promotes, on a NaN in the canary recording', async () => {
    const args = await files(
      recording(20, (k) => String(k)),
      recording(20, (k) => (k === 5 ? 'NaN' : String(k))),
    );
    const { code, out } = await qsb(['analyze', ...args, '--min-duration', '0s']);
    expect(code).toBe(2);
    expect(out).toContain(
      'invalid data: canary qsb_interactions_total{command="ping",outcome="error"} is NaN',
    );
  });

  it.each([
    ['qsb_interactions_total 1\n', 'line 1: a recorded sample needs a timestamp'],
    ['qsb_interactions_total{x="1} 1 5\n', 'line 1: unterminated value of label x'],
    ['', 'the recording holds no samples'],
  ])('exits 3 on a malformed recording %j', async (text, message) => {
    const args = await files(
      recording(3, () => '0'),
      text,
    );
    const { code, out, err } = await qsb(['analyze', ...args]);
    expect(code).toBe(3);
    expect(out).toBe('');
    expect(err).toContain(message);
    expect(err.split('\n')).toHaveLength(1);
  });

  it('exits 3 naming a file that cannot be read', async () => {
    const { code, err } = await qsb([
      'analyze',
      '--baseline',
      '/nonexistent/p.prom',
      '--canary',
      '/nonexistent/c.prom',
    ]);
    expect(code).toBe(3);
    expect(err).toMatch(/^qsb: cannot read --baseline \/nonexistent\/p\.prom: ENOENT/);
  });
});
