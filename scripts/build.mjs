// Bundles each app into apps/<app>/dist/main.js for production (Heroku runs `node apps/bot/dist/main.js`).
// Workspace packages are bundled in; packages from the registry stay external and load from node_modules.
import { existsSync, readFileSync } from 'node:fs';
import { build } from 'esbuild';

const apps = ['qsb', 'bot'].filter((app) => existsSync(`apps/${app}/src/main.ts`));
for (const app of apps) {
  const pkg = JSON.parse(readFileSync(`apps/${app}/package.json`, 'utf8'));
  const external = Object.keys(pkg.dependencies ?? {}).filter((name) => !name.startsWith('@qsb/'));
  await build({
    entryPoints: [`apps/${app}/src/main.ts`],
    outfile: `apps/${app}/dist/main.js`,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    sourcemap: true,
    external,
    banner: {
      js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
    },
    logLevel: 'warning',
  });
  console.log(`built apps/${app}/dist/main.js`);
}
