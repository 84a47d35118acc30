import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { StoreError, StoreErrorCodes } from '../errors/StoreError.ts';

/** Where a store is, as {@link parseStoreUrl} reads it from `QSB_STORE`. */
export type StoreLocation =
  | { readonly kind: 'memory'; readonly description: string }
  | { readonly kind: 'file'; readonly path: string; readonly description: string }
  | {
      readonly kind: 'redis';
      /** The URL for ioredis, without this project's query parameters. */
      readonly url: string;
      readonly prefix: string;
      readonly tls: 'off' | 'verify' | 'no-verify';
      readonly description: string;
    };

/** Options of {@link parseStoreUrl}. */
export interface ParseStoreUrlOptions {
  /** The name of the input, for messages. @defaultValue 'QSB_STORE' */
  readonly variable?: string;
  /** Where a relative `file:` path and the default file are resolved. @defaultValue process.cwd() */
  readonly cwd?: string;
}

/** The file store used when `QSB_STORE` is unset, relative to the working directory. */
export const DefaultStoreFile = '.qsb/store.json';

/** The namespace of a Redis store whose URL gives no `prefix`. */
export const DefaultRedisPrefix = 'qsb:';

const allowed =
  'allowed: memory:, file:PATH, redis://[USER:PASSWORD@]HOST[:PORT][/DB][?prefix=qsb:], ' +
  'rediss://...[?prefix=qsb:&tls=verify|no-verify] (TLS; no-verify accepts a self-signed certificate such as Heroku Key-Value Store)';

/**
 * Hides the password of a store URL: `redis://user:***@host`. A user part without `:` is hidden too,
 * since some clients read `redis://SECRET@host` as a password. Works on text that is not a valid URL.
 */
export function maskStoreUrl(value: string): string {
  return value.replace(/^([a-z][a-z0-9+.-]*:\/\/)([^@/?#]*)@/i, (_, scheme: string, user: string) => {
    const colon = user.indexOf(':');
    return `${scheme}${colon >= 0 ? `${user.slice(0, colon)}:***` : '***'}@`;
  });
}

/**
 * Reads `QSB_STORE`: `memory:`, `file:PATH` (relative to `cwd`), `redis://...` or `rediss://...`; unset
 * or empty means the file `.qsb/store.json` in `cwd`. Anything else is a `StoreError` `INVALID_STORE_URL`
 * naming the variable, its masked value and the allowed forms.
 *
 * @example
 * ```ts
 * parseStoreUrl('rediss://:pw@host:6380?prefix=qsb:&tls=no-verify');
 * // { kind: 'redis', url: 'rediss://:pw@host:6380', prefix: 'qsb:', tls: 'no-verify', description: 'rediss://:***@host:6380 prefix qsb:' }
 * ```
 */
export function parseStoreUrl(value: string | undefined, options: ParseStoreUrlOptions = {}): StoreLocation {
  const variable = options.variable ?? 'QSB_STORE';
  const cwd = options.cwd ?? process.cwd();
  const fail = (why: string): never => {
    throw new StoreError(
      StoreErrorCodes.InvalidUrl,
      `${variable}=${JSON.stringify(maskStoreUrl(value ?? ''))} ${why}; ${allowed}`,
    );
  };
  const text = value?.trim() ?? '';
  if (text === '') {
    const path = resolve(cwd, DefaultStoreFile);
    return { kind: 'file', path, description: `file:${path}` };
  }
  if (text === 'memory:' || text === 'memory') return { kind: 'memory', description: 'memory:' };
  if (text.startsWith('file:')) {
    let path = text.slice('file:'.length);
    if (path.startsWith('//')) {
      try {
        path = fileURLToPath(text);
      } catch {
        fail('is not a file URL');
      }
    }
    if (path === '') fail('names no file');
    const absolute = isAbsolute(path) ? path : resolve(cwd, path);
    return { kind: 'file', path: absolute, description: `file:${absolute}` };
  }
  if (text.startsWith('redis://') || text.startsWith('rediss://')) return parseRedis(text, fail);
  return fail('is not a store');
}

function parseRedis(text: string, fail: (why: string) => never): StoreLocation {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return fail('is not a valid URL');
  }
  if (url.hostname === '') fail('names no host');
  if (url.pathname !== '' && url.pathname !== '/' && !/^\/\d+$/.test(url.pathname)) {
    fail(`has database ${JSON.stringify(url.pathname.slice(1))}, not a number`);
  }
  const secure = url.protocol === 'rediss:';
  let prefix = DefaultRedisPrefix;
  let tls: 'off' | 'verify' | 'no-verify' = secure ? 'verify' : 'off';
  for (const [name, value] of url.searchParams) {
    if (name === 'prefix') {
      if (value === '') fail('has an empty prefix');
      prefix = value;
    } else if (name === 'tls' && secure) {
      if (value !== 'verify' && value !== 'no-verify') fail(`has tls=${value}, not verify or no-verify`);
      tls = value as 'verify' | 'no-verify';
    } else {
      fail(`has the unknown parameter ${JSON.stringify(name)} (known: prefix${secure ? ', tls' : ''})`);
    }
  }
  url.search = '';
  const bare = url.toString().replace(/\/$/, '');
  const description = `${maskStoreUrl(bare)} prefix ${prefix}${tls === 'no-verify' ? ' tls no-verify' : ''}`;
  return { kind: 'redis', url: bare, prefix, tls, description };
}
