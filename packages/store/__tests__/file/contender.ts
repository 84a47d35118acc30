// A process contending on one store file: run by file.test.ts with `node --import tsx`.
// argv: path, name, rounds. Increments `cas` by compare-and-set, and `plain` (get then set, no CAS)
// while holding the lease `mutex`: both end at the total count only if the store is safe.
import { FileStore } from '../../src/index.ts';

const [path, name, rounds] = process.argv.slice(2) as [string, string, string];
const store = await new FileStore(path).open();
for (let n = 0; n < Number(rounds); n++) {
  for (;;) {
    const current = await store.get('cas');
    if (await store.compareAndSet('cas', String(Number(current?.value ?? '0') + 1), current?.version ?? 0))
      break;
  }
  let lease = await store.acquire('mutex', name, 30_000);
  while (lease === undefined) {
    await new Promise((resolve) => setTimeout(resolve, 1));
    lease = await store.acquire('mutex', name, 30_000);
  }
  const plain = await store.get('plain');
  await store.set('plain', String(Number(plain?.value ?? '0') + 1));
  if (!(await store.release(lease))) throw new Error(`${name} lost the mutex`);
}
await store.close();
