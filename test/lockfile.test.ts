import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const lock = readFileSync(new URL('../pnpm-lock.yaml', import.meta.url), 'utf8');

function versionsOf(name: string): string[] {
  const pattern = new RegExp(`^  '?${name.replace('/', '\\/')}@([0-9][^':(]*)'?:`, 'gm');
  return [...new Set([...lock.matchAll(pattern)].map((m) => m[1] ?? ''))];
}

describe('pnpm-lock.yaml', () => {
  it('holds one @discordjs/ws: the one discord.js uses', () => {
    expect(versionsOf('@discordjs/ws')).toHaveLength(1);
    expect(versionsOf('discord.js')).toHaveLength(1);
  });

  it('holds one prom-client, so that every package registers on the same Registry class', () => {
    expect(versionsOf('prom-client')).toHaveLength(1);
  });
});
