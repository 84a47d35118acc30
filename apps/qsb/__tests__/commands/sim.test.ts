import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../src/main.ts';
import { qsb } from '../support/qsb.ts';

const MAIN = fileURLToPath(new URL('../../src/main.ts', import.meta.url));

describe('qsb sim', () => {
  it('prints where it listens as its first line, serves until aborted, then exits 0', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const abort = new AbortController();
    let firstLine: (line: string) => void = () => {};
    const first = new Promise<string>((resolve) => {
      firstLine = resolve;
    });
    const running = runCli(
      [
        'sim',
        '--port',
        '0',
        '--guilds',
        '7',
        '--shards',
        '2',
        '--max-concurrency',
        '2',
        '--token',
        'test-token',
      ],
      {
        env: {},
        out: (l) => {
          out.push(l);
          if (out.length === 1) firstLine(l);
        },
        err: (l) => err.push(l),
        signal: abort.signal,
      },
    );
    const info = JSON.parse(await first) as { api: string; gateway: string; port: number; faults: string };
    expect(info.api).toBe(`http://127.0.0.1:${info.port}/api`);
    expect(info.gateway).toBe(`ws://127.0.0.1:${info.port}/`);
    const res = await fetch(`${info.api}/v10/gateway/bot`, { headers: { authorization: 'Bot test-token' } });
    expect(await res.json()).toMatchObject({
      url: info.gateway,
      shards: 2,
      session_start_limit: { max_concurrency: 2 },
    });
    const fault = await fetch(info.faults, { method: 'POST', body: '{"type":"rest","status":502}' });
    expect(fault.status).toBe(200);
    expect(
      (await fetch(`${info.api}/v10/gateway/bot`, { headers: { authorization: 'Bot test-token' } })).status,
    ).toBe(502);
    abort.abort();
    expect(await running).toBe(0);
    expect(out).toHaveLength(1);
    expect(err.join('\n')).toContain('qsb sim: stopped');
    await expect(fetch(`${info.api}/v10/gateway`)).rejects.toThrow();
  });

  it.each([
    [['sim', '--port', '70000'], "'--port <p>' argument '70000' is invalid"],
    [['sim', '--guilds', 'many'], "'--guilds <g>' argument 'many' is invalid"],
    [['sim', '--shards', '0'], "'--shards <s>' argument '0' is invalid"],
    [['sim', '--rate', '-1'], "'--rate <r>' argument '-1' is invalid"],
    [['sim', '--commands', 'Bad Name'], "'--commands <names>' argument 'Bad Name' is invalid"],
    [
      ['sim', '--token', 'has space'],
      'qsb: --token "has space" must be 1 to 200 printable ASCII characters without spaces',
    ],
    [['sim', '--bogus'], "unknown option '--bogus'"],
  ])('refuses %j with exit code 3', async (argv, message) => {
    const { code, out, err } = await qsb(argv);
    expect(code).toBe(3);
    expect(out).toBe('');
    expect(err).toContain(message);
  });

  it('runs as a process until SIGTERM, with traffic', async () => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', MAIN, 'sim', '--guilds', '20', '--rate', '200'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    try {
      const lines = createInterface({ input: child.stdout });
      const [line] = (await once(lines, 'line')) as [string];
      const info = JSON.parse(line) as { api: string; port: number };
      let dispatched = 0;
      for (let i = 0; i < 100 && dispatched === 0; i++) {
        await new Promise((r) => setTimeout(r, 20));
        const stats = (await (await fetch(`http://127.0.0.1:${info.port}/__sim/stats`)).json()) as {
          interactions: { dispatched: number };
        };
        dispatched = stats.interactions.dispatched;
      }
      expect(dispatched).toBeGreaterThan(0);
      child.kill('SIGTERM');
      const [code] = (await once(child, 'exit')) as [number | null];
      expect(code).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
