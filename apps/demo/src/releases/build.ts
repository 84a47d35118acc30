import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';

/** The repository root: the bot's sources are built from here, as Heroku builds them. */
export const REPO_ROOT = fileURLToPath(new URL('../../../..', import.meta.url));

const BOT_ENTRY = join(REPO_ROOT, 'apps/bot/src/main.ts');
/** The module a scenario patch replaces: the bot's command table, imported by the bot's start-up. */
const PATCHED_MODULE = join(REPO_ROOT, 'apps/bot/src/commands/commands.ts');
/** Optional native add-ons discord.js and ws load only when installed (as scripts/build.mjs). */
const OPTIONAL_NATIVE = ['zlib-sync', 'bufferutil', 'utf-8-validate', '@discordjs/voice', 'ffmpeg-static'];

/** A built version of the bot: one file that runs with plain `node`. */
export interface Release {
  readonly version: string;
  /** The bundle to run. */
  readonly entry: string;
  /** What was compiled in besides the repository (a scenario patch), for the record. */
  readonly patch: string | undefined;
}

/** Points every import of the command table (except the patch's own) at the patch. */
function patchPlugin(patch: string): Plugin {
  return {
    name: 'qsb-demo-scenario-patch',
    setup(b) {
      b.onResolve({ filter: /commands\/commands\.ts$/ }, (args) => {
        const target = resolve(args.resolveDir, args.path);
        if (target !== PATCHED_MODULE || args.importer === patch) return undefined;
        return { path: patch };
      });
    },
  };
}

/**
 * Builds the bot at the repository's HEAD (the working tree), plus `patch` when given, into
 * `dir/<version>/main.js`.
 */
export async function buildRelease(dir: string, version: string, patch?: string): Promise<Release> {
  const entry = join(dir, version, 'main.js');
  await build({
    entryPoints: [BOT_ENTRY],
    outfile: entry,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    sourcemap: true,
    external: OPTIONAL_NATIVE,
    banner: {
      js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
    },
    plugins: patch === undefined ? [] : [patchPlugin(patch)],
    logLevel: 'error',
  });
  return { version, entry, patch };
}
