// Bundles each app into apps/<app>/dist/main.js, a single file that runs with plain `node` (Heroku runs
// `node apps/bot/dist/main.js`). Everything is bundled except optional native add-ons that discord.js and
// ws load only when installed.
import { existsSync } from 'node:fs';
import { build } from 'esbuild';

const optionalNative = ['zlib-sync', 'bufferutil', 'utf-8-validate', '@discordjs/voice', 'ffmpeg-static'];
const apps = ['bot', 'example-bot', 'qsb'].filter((app) => existsSync(`apps/${app}/src/main.ts`));
for (const app of apps) {
  await build({
    entryPoints: [`apps/${app}/src/main.ts`],
    outfile: `apps/${app}/dist/main.js`,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    sourcemap: true,
    external: optionalNative,
    // CommonJS dependencies inside an ESM bundle still call require().
    banner: {
      js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
    },
    logLevel: 'warning',
  });
  console.log(`built apps/${app}/dist/main.js`);
}
