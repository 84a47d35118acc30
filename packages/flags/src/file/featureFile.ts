import { readFileSync } from 'node:fs';
import type { ClientFeaturesResponse } from 'unleash-client';
import { z } from 'zod';
import { FlagsError, FlagsErrorCodes } from '../errors/FlagsError.ts';

// zod validates the file's structure and reports where it is wrong (`features[2].strategies[0].name`);
// objects are loose because Unleash's exports carry fields a client ignores (createdAt, project, ...).
const constraint = z.looseObject({
  contextName: z.string().min(1),
  operator: z.string().min(1),
  values: z.array(z.string()).optional(),
  value: z.union([z.string(), z.number()]).optional(),
  inverted: z.boolean().optional(),
  caseInsensitive: z.boolean().optional(),
});

const variant = z.looseObject({
  name: z.string().min(1),
  weight: z.number().int().min(0).max(1000),
  weightType: z.string().optional(),
  stickiness: z.string().optional(),
  payload: z.looseObject({ type: z.string(), value: z.string() }).optional(),
  overrides: z.array(z.looseObject({ contextName: z.string(), values: z.array(z.string()) })).optional(),
});

const strategy = z.looseObject({
  name: z.string().min(1),
  parameters: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
  constraints: z.array(constraint).optional(),
  segments: z.array(z.number().int()).optional(),
  variants: z.array(variant).optional(),
});

const feature = z.looseObject({
  name: z.string().min(1),
  enabled: z.boolean(),
  description: z.string().nullish(),
  type: z.string().optional(),
  strategies: z.array(strategy),
  variants: z.array(variant).nullish(),
  dependencies: z
    .array(
      z.looseObject({
        feature: z.string().min(1),
        enabled: z.boolean().optional(),
        variants: z.array(z.string()).optional(),
      }),
    )
    .optional(),
});

const segment = z.looseObject({
  id: z.number().int(),
  name: z.string().optional(),
  constraints: z.array(constraint),
});

const fullResponse = z.looseObject({
  version: z.number().int().min(1),
  features: z.array(feature),
  segments: z.array(segment).optional(),
});

// The delta format of Unleash's client API (`/api/client/delta`): a hydration followed by changes.
const deltaEvent = z.discriminatedUnion('type', [
  z.looseObject({ type: z.literal('hydration'), features: z.array(feature), segments: z.array(segment) }),
  z.looseObject({ type: z.literal('feature-updated'), feature }),
  z.looseObject({ type: z.literal('feature-removed'), featureName: z.string() }),
  z.looseObject({ type: z.literal('segment-updated'), segment }),
  z.looseObject({ type: z.literal('segment-removed'), segmentId: z.number().int() }),
]);
const deltaResponse = z.looseObject({ events: z.array(deltaEvent) });

type FeatureInterface = ClientFeaturesResponse['features'][number];

/** The strategies unleash-client evaluates without a custom strategy. */
export const BUILT_IN_STRATEGIES: readonly string[] = [
  'default',
  'userWithId',
  'flexibleRollout',
  'remoteAddress',
  'applicationHostname',
  'gradualRolloutRandom',
  'gradualRolloutUserId',
  'gradualRolloutSessionId',
];

/** The constraint operators unleash-client 6 knows. */
export const CONSTRAINT_OPERATORS: readonly string[] = [
  'IN',
  'NOT_IN',
  'STR_ENDS_WITH',
  'STR_STARTS_WITH',
  'STR_CONTAINS',
  'NUM_EQ',
  'NUM_GT',
  'NUM_GTE',
  'NUM_LT',
  'NUM_LTE',
  'DATE_AFTER',
  'DATE_BEFORE',
  'SEMVER_EQ',
  'SEMVER_GT',
  'SEMVER_LT',
  'SEMVER_GTE',
  'SEMVER_LTE',
  'REGEX',
  'IN_CIDR',
];

/**
 * A flags file, validated: Unleash's client feature format (what `GET /api/client/features` returns and
 * what a server can be bootstrapped from), plus `warnings` for what Unleash would evaluate as off
 * (an unknown strategy or operator, a missing segment or parent flag).
 */
export interface FeatureFile {
  readonly features: readonly FeatureInterface[];
  readonly segments: NonNullable<ClientFeaturesResponse['segments']>;
  readonly warnings: readonly string[];
}

function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path)
    out += typeof key === 'number' ? `[${key}]` : out === '' ? String(key) : `.${String(key)}`;
  return out === '' ? '(top level)' : out;
}

function fromDelta(events: z.infer<typeof deltaResponse>['events']): {
  features: z.infer<typeof feature>[];
  segments: z.infer<typeof segment>[];
} {
  const features = new Map<string, z.infer<typeof feature>>();
  const segments = new Map<number, z.infer<typeof segment>>();
  for (const event of events) {
    switch (event.type) {
      case 'hydration':
        features.clear();
        segments.clear();
        for (const f of event.features) features.set(f.name, f);
        for (const s of event.segments) segments.set(s.id, s);
        break;
      case 'feature-updated':
        features.set(event.feature.name, event.feature);
        break;
      case 'feature-removed':
        features.delete(event.featureName);
        break;
      case 'segment-updated':
        segments.set(event.segment.id, event.segment);
        break;
      case 'segment-removed':
        segments.delete(event.segmentId);
        break;
    }
  }
  return { features: [...features.values()], segments: [...segments.values()] };
}

function lint(
  features: readonly z.infer<typeof feature>[],
  segments: readonly z.infer<typeof segment>[],
): string[] {
  const warnings: string[] = [];
  const names = new Set<string>();
  const segmentIds = new Set(segments.map((s) => s.id));
  const operators = (where: string, list: readonly z.infer<typeof constraint>[] | undefined) => {
    for (const [i, c] of (list ?? []).entries()) {
      if (!CONSTRAINT_OPERATORS.includes(c.operator)) {
        warnings.push(
          `${where}.constraints[${i}].operator ${JSON.stringify(c.operator)} is unknown (allowed: ${CONSTRAINT_OPERATORS.join(', ')}); the constraint never matches`,
        );
      }
    }
  };
  for (const [i, f] of features.entries()) {
    if (names.has(f.name))
      warnings.push(`features[${i}]: flag ${JSON.stringify(f.name)} is defined twice; the last wins`);
    names.add(f.name);
  }
  for (const [i, f] of features.entries()) {
    for (const [j, s] of f.strategies.entries()) {
      const where = `features[${i}] (${f.name}).strategies[${j}]`;
      if (!BUILT_IN_STRATEGIES.includes(s.name)) {
        warnings.push(
          `${where}: strategy ${JSON.stringify(s.name)} is unknown (allowed: ${BUILT_IN_STRATEGIES.join(', ')}); it is never on`,
        );
      }
      operators(where, s.constraints);
      for (const id of s.segments ?? []) {
        if (!segmentIds.has(id))
          warnings.push(`${where}: segment ${id} is not defined; the strategy is never on`);
      }
    }
    for (const d of f.dependencies ?? []) {
      if (!names.has(d.feature)) {
        warnings.push(
          `features[${i}] (${f.name}): parent flag ${JSON.stringify(d.feature)} is not defined; the flag is off`,
        );
      }
    }
  }
  for (const [i, s] of segments.entries()) operators(`segments[${i}]`, s.constraints);
  return warnings;
}

/**
 * Validates parsed JSON as a flags file: Unleash's full client format `{ version, features, segments? }`
 * or its delta format `{ events: [...] }` (reduced to the resulting state).
 *
 * @throws {@link FlagsError} `INVALID_FILE` naming where the content is wrong (`features[2].enabled: ...`).
 */
export function parseFeatureFile(json: unknown, source = 'flags'): FeatureFile {
  const isDelta = typeof json === 'object' && json !== null && 'events' in json;
  const result = isDelta ? deltaResponse.safeParse(json) : fullResponse.safeParse(json);
  if (!result.success) {
    const [issue] = result.error.issues;
    const extra =
      result.error.issues.length > 1 ? ` (and ${result.error.issues.length - 1} more problems)` : '';
    throw new FlagsError(
      FlagsErrorCodes.InvalidFile,
      `${source}: ${issue ? `${formatPath(issue.path)}: ${issue.message}` : 'not a flags file'}${extra}; expected Unleash's client feature format { "version": 2, "features": [...], "segments": [...] }`,
    );
  }
  const state =
    'events' in result.data
      ? fromDelta((result.data as z.infer<typeof deltaResponse>).events)
      : {
          features: (result.data as z.infer<typeof fullResponse>).features,
          segments: (result.data as z.infer<typeof fullResponse>).segments ?? [],
        };
  return {
    // The schema checked what unleash-client relies on; its own types are stricter than its behaviour.
    features: state.features as unknown as FeatureInterface[],
    segments: state.segments as unknown as FeatureFile['segments'],
    warnings: lint(state.features, state.segments),
  };
}

/**
 * Reads and validates a flags file.
 *
 * @throws {@link FlagsError} `INVALID_FILE` naming the file and what is wrong: unreadable, not JSON, or
 * not Unleash's feature format.
 */
export function loadFeatureFile(path: string): FeatureFile {
  return parseFeatureText(readFeatureText(path), path);
}

/**
 * Reads a flags file's text.
 *
 * @throws {@link FlagsError} `INVALID_FILE` naming the file and why it cannot be read.
 */
export function readFeatureText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    const reason =
      (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
    throw new FlagsError(FlagsErrorCodes.InvalidFile, `${path}: cannot be read (${reason})`);
  }
}

/** Parses the text of a flags file; `source` names it in errors. */
export function parseFeatureText(text: string, source: string): FeatureFile {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new FlagsError(
      FlagsErrorCodes.InvalidFile,
      `${source}: not valid JSON (${(error as Error).message})`,
    );
  }
  return parseFeatureFile(json, source);
}
