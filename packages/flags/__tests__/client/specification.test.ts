import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import { createFlags, type FlagContext, type Flags } from '../../src/index.ts';
import { RecordingLogger } from '../support/fakes.ts';

// Unleash's client specification, every file and every case, through the client's own evaluation path
// (the state loaded as a flags file would be, evaluated by `evaluate` and `variant`).
const dir = dirname(
  createRequire(import.meta.url).resolve('@unleash/client-specification/specifications/index.json'),
);
const files = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as string[];

interface Spec {
  readonly name: string;
  readonly state: unknown;
  readonly tests?: {
    description: string;
    context: FlagContext;
    toggleName: string;
    expectedResult: boolean;
  }[];
  readonly variantTests?: {
    description: string;
    context: FlagContext;
    toggleName: string;
    expectedResult: Record<string, unknown>;
  }[];
}

const specs = files.map((file) => JSON.parse(readFileSync(join(dir, file), 'utf8')) as Spec);
const clients: Flags[] = [];

async function client(spec: Spec): Promise<Flags> {
  const flags = createFlags({
    data: spec.state,
    appName: 'client-specification',
    deployment: 'production',
    registry: new Registry(),
    logger: new RecordingLogger(),
  });
  clients.push(flags);
  await flags.ready;
  return flags;
}

afterAll(() => {
  for (const c of clients) c.close();
});

describe("Unleash's client specification", () => {
  it('has the 22 files, 227 isEnabled cases and 52 variant cases of version 6.1.0', () => {
    expect(specs).toHaveLength(22);
    expect(specs.reduce((n, s) => n + (s.tests?.length ?? 0), 0)).toBe(227);
    expect(specs.reduce((n, s) => n + (s.variantTests?.length ?? 0), 0)).toBe(52);
  });

  describe.each(specs.map((s) => [s.name, s] as const))('%s', (_name, spec) => {
    const tests = spec.tests ?? [];
    const variants = spec.variantTests ?? [];
    if (tests.length > 0) {
      it.each(tests.map((t) => [t.description, t] as const))('isEnabled: %s', async (_d, t) => {
        const flags = await client(spec);
        expect(flags.evaluate(t.toggleName, t.context)).toBe(t.expectedResult);
      });
    }
    if (variants.length > 0) {
      it.each(variants.map((t) => [t.description, t] as const))('variant: %s', async (_d, t) => {
        const flags = await client(spec);
        expect(flags.variant(t.toggleName, t.context)).toMatchObject(t.expectedResult);
      });
    }
  });
});
