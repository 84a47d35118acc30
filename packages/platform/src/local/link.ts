import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, readlink, symlink } from 'node:fs/promises';
import { join } from 'node:path';

/** The folders of a pnpm workspace that hold a `node_modules` (the root, `apps/*`, `packages/*`). */
async function workspaceDirs(root: string): Promise<string[]> {
  const dirs = ['.'];
  for (const top of ['apps', 'packages']) {
    if (!existsSync(join(root, top))) continue;
    for (const entry of await readdir(join(root, top), { withFileTypes: true })) {
      if (entry.isDirectory()) dirs.push(join(top, entry.name));
    }
  }
  return dirs;
}

async function copyLinks(from: string, to: string, scoped: boolean): Promise<void> {
  await mkdir(to, { recursive: true });
  for (const entry of await readdir(from, { withFileTypes: true })) {
    const source = join(from, entry.name);
    const target = join(to, entry.name);
    if (entry.isSymbolicLink()) {
      // pnpm's links are relative: a workspace package's link resolves inside the snapshot, a
      // registry package's through the snapshot's `node_modules/.pnpm`, itself a link to the checkout's.
      await symlink(await readlink(source), target);
    } else if (entry.isDirectory() && entry.name.startsWith('@') && !scoped) {
      await copyLinks(source, target, true);
    } else {
      await symlink(source, target);
    }
  }
}

/**
 * Gives a snapshot of the workspace at `snapshot` the dependencies installed in the checkout `from`,
 * without a registry: each `node_modules` is rebuilt from the checkout's links, so that workspace
 * packages resolve to the snapshot's own sources. Refuses (returns the reason) when the snapshot's
 * lockfile differs from the checkout's, since the linked dependencies would then not be the ref's.
 */
export async function linkDependencies(from: string, snapshot: string): Promise<string | undefined> {
  if (!existsSync(join(from, 'node_modules'))) return undefined;
  const lock = async (root: string) => readFile(join(root, 'pnpm-lock.yaml'), 'utf8').catch(() => '');
  if ((await lock(from)) !== (await lock(snapshot))) {
    return `its pnpm-lock.yaml differs from ${from}'s, whose node_modules local builds link (run pnpm install there at that ref)`;
  }
  for (const dir of await workspaceDirs(snapshot)) {
    const modules = join(from, dir, 'node_modules');
    if (existsSync(modules)) await copyLinks(modules, join(snapshot, dir, 'node_modules'), false);
  }
  return undefined;
}
