import { execFile, spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { x as extract } from 'tar';
import { PlatformError } from '../errors/PlatformError.ts';

const run = promisify(execFile);

/** A ref as git accepts it on a command line: no option-like or control characters. */
const SAFE_REF = /^(?!-)[A-Za-z0-9._/@{}^~+-]{1,200}$/;

/**
 * Resolves a branch, tag or commit of `repo` to its full commit id, or throws UNKNOWN_REF naming it.
 *
 * @example
 * ```ts
 * const commit = await resolveRef('.', 'main');
 * ```
 */
export async function resolveRef(repo: string, ref: string): Promise<string> {
  if (!SAFE_REF.test(ref)) {
    throw new PlatformError(
      'UNKNOWN_REF',
      `${JSON.stringify(ref)} is not a git ref (a branch, tag or commit)`,
    );
  }
  try {
    const { stdout } = await run('git', ['-C', repo, 'rev-parse', '--verify', '--quiet', `${ref}^{commit}`]);
    return stdout.trim();
  } catch {
    throw new PlatformError('UNKNOWN_REF', `${ref} does not name a commit in ${repo}`);
  }
}

/** The tree of `commit` as a gzipped tarball (what Heroku's sources API receives). */
export async function archiveCommit(repo: string, commit: string): Promise<Buffer> {
  const { stdout } = await run('git', ['-C', repo, 'archive', '--format=tar.gz', commit], {
    encoding: 'buffer',
    maxBuffer: 512 * 1024 * 1024,
  });
  return stdout;
}

/** Writes the tree of `commit` into `dir` (created): a directory snapshot of the ref. */
export async function snapshotCommit(repo: string, commit: string, dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const git = spawn('git', ['-C', repo, 'archive', '--format=tar', commit], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  git.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => git.once('close', resolve));
  await pipeline(git.stdout, extract({ cwd: dir }));
  const code = await exited;
  if (code !== 0) throw new PlatformError('UNKNOWN_REF', `git archive ${commit} failed: ${stderr.trim()}`);
}
