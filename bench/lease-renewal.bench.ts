import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileStore, type Lease } from '@qsb/store';
import { compare } from './lib/compare.ts';

/**
 * One renewal pass over a process's 16 session leases on the file store (the default store): one
 * `renew` after another, as the runtime did (the reference), beside all 16 sent at once and beside one
 * `renewMany`, which the runtime uses now. A pass must stay well inside the lease TTL (15 s) on a loaded
 * machine; the ratio says how much of that margin each way leaves.
 */
export default async function run(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'qsb-bench-leases-'));
  const store = await new FileStore(join(dir, 'store.json')).open();
  try {
    let leases: Lease[] = [];
    for (let shard = 0; shard < 16; shard++) {
      leases.push((await store.acquire(`session:${shard}`, 'bench', 60_000)) as Lease);
    }
    const keep = (renewed: (Lease | undefined)[]) => {
      leases = renewed.map((lease, i) => lease ?? (leases[i] as Lease));
    };
    await compare(
      '@qsb/store file: one renewal pass over 16 session leases',
      {
        name: 'reference: renew one after another',
        fn: async () => {
          const renewed: (Lease | undefined)[] = [];
          for (const lease of leases) renewed.push(await store.renew(lease, 60_000));
          keep(renewed);
        },
      },
      [
        {
          name: 'renew all at once (Promise.all)',
          fn: async () => keep(await Promise.all(leases.map((lease) => store.renew(lease, 60_000)))),
        },
        {
          name: 'renewMany (one lock, one write)',
          fn: async () => keep(await store.renewMany(leases, 60_000)),
        },
      ],
      { time: Number(process.env.BENCH_TIME_MS ?? 2000) },
    );
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}
