import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const lock = readFileSync(new URL('../pnpm-lock.yaml', import.meta.url), 'utf8');

function versionsOf(name: string): string[] {
  const pattern = new RegExp(`^  '?${name.replace('/', '\\/')}@([0-9][^':(]*)'?:`, 'gm');
  return [...new Set([...lock.matchAll(pattern)].map((m) => m[1] ?? ''))];
}

describe('pnpm-lock.yaml', () => {
  it("holds one discord.js, and at most two @discordjs/ws: the runtime's gateway and the one discord.js 14 pins", () => {
    expect(versionsOf('discord.js')).toHaveLength(1);
    const ws = versionsOf('@discordjs/ws');
    expect(ws.length).toBeLessThanOrEqual(2);
    const runtime = JSON.parse(
      readFileSync(new URL('../packages/runtime/package.json', import.meta.url), 'utf8'),
    );
    const wanted = String(runtime.dependencies['@discordjs/ws']).replace(/^\^/, '');
    expect(ws).toContain(wanted);
  });

  it('holds one prom-client, so that every package registers on the same Registry class', () => {
    expect(versionsOf('prom-client')).toHaveLength(1);
  });
});
