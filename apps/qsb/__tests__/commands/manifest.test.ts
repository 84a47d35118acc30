import { readFileSync } from 'node:fs';
import { parseProcfile } from '@qsb/platform';
import { describe, expect, it } from 'vitest';
import { RoleConfig, setupConfig } from '../../src/commands/setup.ts';
import { AppRoles } from '../../src/pipeline/context.ts';

const root = new URL('../../../../', import.meta.url);
const manifest = JSON.parse(readFileSync(new URL('app.json', root), 'utf8')) as {
  stack: string;
  formation: Record<string, { quantity: number }>;
  env: Record<string, { description: string; value?: string; required?: boolean; generator?: string }>;
};
const procfile = parseProcfile(readFileSync(new URL('Procfile', root), 'utf8'));

describe('Procfile and app.json', () => {
  it('run the bundled bot as worker or web, node itself (no pnpm wrapper that would keep SIGTERM from it)', () => {
    expect(procfile).toEqual({
      web: 'node --enable-source-maps apps/bot/dist/main.js',
      worker: 'node --enable-source-maps apps/bot/dist/main.js',
    });
    expect(Object.keys(manifest.formation).every((t) => t in procfile)).toBe(true);
    // One process type per app: DYNO numbers dynos per type, the shard plan per app.
    expect(Object.values(manifest.formation).filter((f) => f.quantity > 0)).toHaveLength(1);
  });

  it('build on heroku-24 and document every config var qsb setup sets, marking those that differ', () => {
    expect(manifest.stack).toBe('heroku-24');
    const env = {
      DISCORD_TOKEN: 't',
      STAGING_DISCORD_TOKEN: 's',
      SHARD_COUNT: '16',
      METRICS_TOKEN: 'm'.repeat(16),
      QSB_STORE: 'redis://kv.example:6379',
    };
    for (const role of AppRoles) {
      for (const key of Object.keys(setupConfig(role, env, [])))
        expect(manifest.env, `${role} ${key}`).toHaveProperty(key);
    }
    const keys = new Set(AppRoles.flatMap((r) => Object.keys(RoleConfig[r])));
    for (const key of keys) {
      const values = new Set(AppRoles.map((r) => (RoleConfig[r] as Record<string, string>)[key]));
      if (values.size > 1) expect(manifest.env[key]?.description, key).toMatch(/^Differs: /);
    }
  });

  it('register slash commands from production alone', () => {
    expect(RoleConfig.canary.REGISTER_COMMANDS).toBe('false');
    expect('REGISTER_COMMANDS' in RoleConfig.production).toBe(false);
    expect(manifest.env.REGISTER_COMMANDS?.description).toContain('before promotion');
  });
});
