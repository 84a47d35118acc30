// `pnpm start`: runs the bundled bot as Heroku does, or says how to build it when it is missing
// (instead of Node's raw MODULE_NOT_FOUND).
import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

const entry = 'apps/bot/dist/main.js';
if (!existsSync(entry)) {
  process.stderr.write(
    `quantum-superbot: ${entry} does not exist: run \`pnpm build\` first (or \`pnpm start:dev\` to run from source)\n`,
  );
  process.exit(2);
}
process.setSourceMapsEnabled(true);
await import(pathToFileURL(entry).href);
