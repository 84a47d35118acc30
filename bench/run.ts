import { readdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

// Runs every bench/*.bench.ts in turn, or only those whose name contains an argument: `pnpm bench sharding`.
const dir = fileURLToPath(new URL('.', import.meta.url));
const filters = process.argv.slice(2);
const files = (await readdir(dir))
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();
if (files.length === 0) {
  console.error(`bench: no benchmark matches ${filters.join(', ')}`);
  process.exit(3);
}
console.log(`# pnpm bench (node ${process.version}, ${new Date().toISOString()})`);
for (const file of files) {
  const mod = (await import(new URL(file, import.meta.url).href)) as { default: () => Promise<void> };
  await mod.default();
}
