/**
 * What can be wrong with the canary's release. The fault lives in the canary's build, as in a real bad
 * release: the build of a scenario is the repository's bot plus one patch module (`patches/<name>.ts`)
 * that replaces the bot's command table. Nothing tells the judge which scenario runs.
 */
export const SCENARIOS = {
  healthy: {
    summary: 'the new version is as good as the current one',
    expected: 'promote',
  },
  'error-regression': {
    summary: 'the new version fails 25% of /ping with an error',
    expected: 'rollback',
  },
  'latency-regression': {
    summary: 'the new version answers every command 150 ms later',
    expected: 'rollback',
  },
  'memory-leak': {
    summary: 'the new version keeps 256 KiB of every interaction it handles',
    expected: 'rollback',
  },
  'crash-loop': {
    summary: 'the new version exits 4 s after it starts, every time',
    expected: 'rollback',
  },
} as const satisfies Record<string, { summary: string; expected: 'promote' | 'rollback' }>;

/** A scenario's name. */
export type ScenarioName = keyof typeof SCENARIOS;

/** Every scenario, in the order `--help` lists them. */
export const SCENARIO_NAMES = Object.keys(SCENARIOS) as ScenarioName[];

/** The bot module a scenario's patch replaces, and the module that replaces it (none when healthy). */
export function scenarioPatch(name: ScenarioName): string | undefined {
  return name === 'healthy' ? undefined : new URL(`./patches/${name}.ts`, import.meta.url).pathname;
}
