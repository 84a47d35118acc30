import { contextFor, createFlags, DEPLOYMENTS } from '@qsb/flags';
import { InMemStorageProvider, Unleash } from 'unleash-client';
import { compare } from './lib/compare.ts';

/**
 * `flag()` on a gradual rollout with a constraint (50% of guilds, sticky on guildId, canary only),
 * beside unleash-client's own `isEnabled` on the same data in the same run. Each task evaluates 1,024
 * guilds, so the per-call cost of the harness does not hide the cost of an evaluation. The reference
 * gets its contexts ready-made; `flag()` builds its own from a guild id. Goal: at most 1.1x.
 */
export default async function run(): Promise<void> {
  const features = [
    {
      name: 'rollout',
      enabled: true,
      strategies: [
        {
          name: 'flexibleRollout',
          parameters: { rollout: '50', stickiness: 'guildId', groupId: 'rollout' },
          constraints: [
            { contextName: 'deployment', operator: 'IN' as never, values: [...DEPLOYMENTS], inverted: false },
          ],
        },
      ],
    },
  ];
  const guilds = Array.from({ length: 1024 }, (_, i) =>
    String(81_384_788_765_712_384n + BigInt(i) * 4_194_304n),
  );
  // The same context flag() builds, made in advance for the reference.
  const contexts = guilds.map((guild) =>
    contextFor(guild, { deployment: 'canary', shardId: 0, version: '1.0.0' }),
  );

  const raw = new Unleash({
    appName: 'bench',
    url: 'http://flags.invalid/api/',
    refreshInterval: 0,
    disableMetrics: true,
    storageProvider: new InMemStorageProvider(),
    bootstrap: { data: features },
    skipInstanceCountWarning: true,
  });
  await new Promise((resolve) => raw.once('ready', resolve));
  const flags = createFlags({
    names: ['rollout'],
    data: { version: 2, features },
    appName: 'bench',
    deployment: 'canary',
    shardId: 0,
    version: '1.0.0',
    logger: { info: () => {}, warn: () => {}, error: () => {} },
  });
  await flags.ready;

  let sink = 0;
  const reference = () => {
    for (const ctx of contexts) if (raw.isEnabled('rollout', ctx)) sink++;
  };
  const task = () => {
    for (const guild of guilds) if (flags.flag('rollout', guild)) sink++;
  };
  await compare(
    '@qsb/flags: 1,024 evaluations of a 50% guild rollout with a constraint',
    { name: 'reference: unleash-client isEnabled', fn: reference },
    [{ name: "flag('rollout', guildId)", fn: task }],
    { time: 2000 },
  );

  // tinybench measures one task after the other, so load that comes and goes on a shared machine
  // skews the ratio either way. Alternating the two, batch by batch, exposes both to the same load:
  // the ratio of the median batch times is the figure the goal is about.
  const pairs = 400;
  const times = { reference: [] as number[], task: [] as number[] };
  const order = [
    ['reference', reference],
    ['task', task],
  ] as const;
  for (let i = 0; i < pairs; i++) {
    // Alternate which goes first, so that neither always runs on the other's warm caches.
    for (const [name, fn] of i % 2 === 0 ? order : [...order].reverse()) {
      const start = process.hrtime.bigint();
      fn();
      times[name].push(Number(process.hrtime.bigint() - start));
    }
  }

  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1] ?? Number.NaN;
  const perCall = (xs: number[]) => median(xs) / guilds.length;
  console.log(
    `interleaved, ${pairs} pairs of 1,024 evaluations: isEnabled ${perCall(times.reference).toFixed(0)} ns, flag() ${perCall(times.task).toFixed(0)} ns per evaluation; flag() / isEnabled = ${(median(times.task) / median(times.reference)).toFixed(2)}x (goal: at most 1.10x)`,
  );
  if (sink === 0) throw new Error('no evaluation was on: the benchmark measured nothing');
  flags.close();
  raw.destroy();
}
