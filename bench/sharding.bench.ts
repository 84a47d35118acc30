import { planShards, shardsForProcess } from '@qsb/sharding';
import { compare } from './lib/compare.ts';

/** Planning 16,384 shards, against allocating and filling the same number of ids (the least a plan can cost). */
export default async function run(): Promise<void> {
  const shardCount = 16_384;
  await compare(
    '@qsb/sharding: plan 16,384 shards',
    {
      name: 'reference: fill an array with 16,384 ids',
      fn: () => {
        const ids = new Array<number>(shardCount);
        for (let i = 0; i < shardCount; i++) ids[i] = i;
        return ids;
      },
    },
    [
      {
        name: 'planShards 16,384 shards at 20%',
        fn: () => planShards({ shardCount, percent: 20, maxConcurrency: 16 }),
      },
      {
        name: 'planShards + split among 8 dynos',
        fn: () => {
          const plan = planShards({ shardCount, percent: 20, maxConcurrency: 16 });
          for (let i = 1; i <= 8; i++) shardsForProcess(plan, 'production', { index: i, count: 8 });
        },
      },
    ],
  );
}
