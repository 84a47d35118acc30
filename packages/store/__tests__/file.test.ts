import { spawn, spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FileStore } from '../src/index.ts';
import { describeStoreConformance } from './conformance.ts';

const folder = mkdtempSync(join(tmpdir(), 'qsb-store-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));
let files = 0;

describeStoreConformance('file', {
  ttlMs: 1000,
  propertyRuns: 25,
  open: async () => {
    let clock = 1_700_000_000_000;
    const path = join(folder, `store-${++files}.json`);
    const now = () => clock;
    return {
      store: await new FileStore(path, { now }).open(),
      another: async () => new FileStore(path, { now }).open(),
      advance: async (ms) => {
        clock += ms;
      },
    };
  },
});

describe('file store', () => {
  it('stays consistent with four processes contending on one file', async () => {
    const path = join(folder, 'contended.json');
    const contender = new URL('./file/contender.ts', import.meta.url).pathname;
    const rounds = 25;
    const runs = Array.from({ length: 4 }, (_, i) => {
      const child = spawn(process.execPath, ['--import', 'tsx', contender, path, `p${i}`, String(rounds)], {
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let errors = '';
      child.stderr.on('data', (chunk: Buffer) => {
        errors += chunk.toString();
      });
      return new Promise<string>((resolve) =>
        child.on('exit', (code) => resolve(`${code} ${errors}`.trim())),
      );
    });
    expect(await Promise.all(runs)).toEqual(['0', '0', '0', '0']);
    const store = new FileStore(path);
    expect(await store.get('cas')).toEqual({ value: '100', version: 100 });
    expect((await store.get('plain'))?.value).toBe('100');
    expect(await store.holder('mutex')).toBeUndefined();
    await store.close();
    // No lock or temporary file is left behind.
    expect(readdirSync(folder).filter((name) => name.startsWith('contended.json'))).toEqual([
      'contended.json',
    ]);
  });

  it('breaks a lock left by a process that died', async () => {
    const path = join(folder, 'stale.json');
    const dead = spawnSync(process.execPath, [
      '-e',
      'process.stdout.write(String(process.pid))',
    ]).stdout.toString();
    writeFileSync(`${path}.lock`, `${dead} 0123456789abcdef`);
    const store = new FileStore(path, { timeoutMs: 2000 });
    expect(await store.set('after', 'crash')).toEqual({ value: 'crash', version: 1 });
    expect(existsSync(`${path}.lock`)).toBe(false);
    await store.close();
  });

  it('never shows an empty lock, which a process dying while taking it would leave for others to wait on', async () => {
    const path = join(folder, 'never-empty.json');
    const store = new FileStore(path, { timeoutMs: 2000 });
    let writing = true;
    const seen: string[] = [];
    const writes = (async () => {
      for (let i = 0; i < 200; i++) await store.set('k', String(i));
      writing = false;
    })();
    // Reads the lock between the writer's steps (one process: every await lets this loop run).
    while (writing) {
      const text = await readFile(`${path}.lock`, 'utf8').catch(() => undefined);
      if (text !== undefined) seen.push(text);
    }
    await writes;
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.filter((text) => text === '')).toEqual([]);
    expect(readdirSync(folder).filter((name) => name.startsWith('never-empty.json.lock'))).toEqual([]);
    await store.close();
  });

  it('breaks a lock held past staleMs by a live process (stopped or hung)', async () => {
    const path = join(folder, 'old-live.json');
    writeFileSync(`${path}.lock`, `${process.pid} 0123456789abcdef`);
    const past = new Date(Date.now() - 10_000);
    utimesSync(`${path}.lock`, past, past);
    const store = new FileStore(path, { timeoutMs: 2000, staleMs: 5000 });
    expect(await store.set('after', 'hang')).toEqual({ value: 'hang', version: 1 });
    await store.close();
  });

  it('never publishes a write whose lock was broken while its process was stopped', async () => {
    const path = join(folder, 'broken-while-writing.json');
    const newer = join(folder, 'newer.json');
    const first = await new FileStore(path).open();
    await first.set('n', '1');
    await first.close();
    // What another process wrote meanwhile: n at 2.
    const other = await new FileStore(newer).open();
    await other.set('n', '1');
    await other.set('n', '2');
    await other.close();
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout;
    let stopped = true;
    // The clock is read inside the critical section, after the read: the moment this process is
    // "stopped" past staleMs, another breaks its lock, writes n = 2, and leaves (its lock with it).
    const store = new FileStore(path, {
      now: () => {
        if (stopped) {
          stopped = false;
          copyFileSync(newer, path);
          writeFileSync(`${path}.lock`, `${dead.toString()} fedcba9876543210`);
        }
        return Date.now();
      },
    });
    await store.set('mine', 'x');
    // Computed again from the newer state: nothing the other wrote is lost.
    expect((await store.get('n'))?.value).toBe('2');
    expect((await store.get('mine'))?.value).toBe('x');
    expect(stopped).toBe(false);
    await store.close();
  });

  it('waits for a live lock, then gives up with LOCK_TIMEOUT and writes nothing', async () => {
    const path = join(folder, 'held.json');
    writeFileSync(`${path}.lock`, `${process.pid} 0123456789abcdef`);
    const store = new FileStore(path, { timeoutMs: 100 });
    await expect(store.set('x', '1')).rejects.toMatchObject({ code: 'LOCK_TIMEOUT' });
    rmSync(`${path}.lock`);
    expect(await store.get('x')).toBeUndefined();
    await store.close();
  });

  it('refuses a file that is not a store, naming it', async () => {
    const path = join(folder, 'corrupt.json');
    writeFileSync(path, 'not json');
    const store = new FileStore(path);
    await expect(store.get('x')).rejects.toMatchObject({
      code: 'CORRUPT_FILE',
      message: expect.stringContaining(path),
    });
    await store.close();
  });
});
