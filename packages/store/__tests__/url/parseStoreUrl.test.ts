import { describe, expect, it } from 'vitest';
import { createStore, maskStoreUrl, parseStoreUrl, StoreError } from '../../src/index.ts';

describe('parseStoreUrl', () => {
  it.each([
    [undefined, { kind: 'file', path: '/app/.qsb/store.json', description: 'file:/app/.qsb/store.json' }],
    ['', { kind: 'file', path: '/app/.qsb/store.json' }],
    ['memory:', { kind: 'memory', description: 'memory:' }],
    ['file:state/qsb.json', { kind: 'file', path: '/app/state/qsb.json' }],
    ['file:/var/qsb.json', { kind: 'file', path: '/var/qsb.json' }],
    ['file:///var/qsb.json', { kind: 'file', path: '/var/qsb.json' }],
    [
      'redis://localhost:6379',
      {
        kind: 'redis',
        url: 'redis://localhost:6379',
        prefix: 'qsb:',
        tls: 'off',
        description: 'redis://localhost:6379 prefix qsb:',
      },
    ],
    [
      'redis://:s3cret@h:7000/2?prefix=app:',
      {
        kind: 'redis',
        url: 'redis://:s3cret@h:7000/2',
        prefix: 'app:',
        description: 'redis://:***@h:7000/2 prefix app:',
      },
    ],
    [
      'rediss://user:pw@ec2.compute.amazonaws.com:12345?tls=no-verify',
      {
        kind: 'redis',
        tls: 'no-verify',
        description: 'rediss://user:***@ec2.compute.amazonaws.com:12345 prefix qsb: tls no-verify',
      },
    ],
    ['rediss://h:6380', { kind: 'redis', tls: 'verify' }],
  ])('reads %j', (value, expected) => {
    expect(parseStoreUrl(value, { cwd: '/app' })).toMatchObject(expected);
  });

  it.each([
    ['postgres://u:pw@h/db', 'is not a store'],
    ['file:', 'names no file'],
    ['redis://', 'names no host'],
    ['redis://h/zero', 'not a number'],
    ['redis://h?prefix=', 'empty prefix'],
    ['redis://h?tls=no-verify', 'unknown parameter "tls"'],
    ['rediss://h?tls=maybe', 'tls=maybe'],
    ['rediss://:pw@h?db=1', 'unknown parameter "db"'],
  ])('refuses %j in one line naming QSB_STORE, the masked value and the allowed forms', (value, why) => {
    let error: unknown;
    try {
      parseStoreUrl(value);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(StoreError);
    const message = (error as StoreError).message;
    expect((error as StoreError).code).toBe('INVALID_STORE_URL');
    expect(message).toContain(`QSB_STORE="${maskStoreUrl(value)}"`);
    expect(message).toContain(why);
    expect(message).toContain('allowed: memory:, file:PATH, redis://');
    expect(message).not.toContain('pw@');
    expect(message).not.toContain('\n');
  });

  it('names the variable it was given', () => {
    expect(() => parseStoreUrl('nope', { variable: '--store' })).toThrow('--store="nope" is not a store');
  });

  it.each([
    ['redis://:pw@h', 'redis://:***@h'],
    ['rediss://user:pw@h:1/0', 'rediss://user:***@h:1/0'],
    ['redis://token@h', 'redis://***@h'],
    ['redis://h:6379', 'redis://h:6379'],
    ['not a url :pw@', 'not a url :pw@'],
  ])('masks %j as %j', (value, masked) => {
    expect(maskStoreUrl(value)).toBe(masked);
  });

  it('opens a memory store from QSB_STORE, refuses a bad one before opening anything', async () => {
    const store = await createStore('memory:');
    expect(store.kind).toBe('memory');
    await store.close();
    await expect(createStore('mem')).rejects.toMatchObject({ code: 'INVALID_STORE_URL' });
  });
});
