import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Platform } from '@qsb/platform';
import { CliError } from '../cli/errors.ts';

/** One verdict of the judge on one build of the canary. */
export interface VerdictRecord {
  readonly verdict: 'promote' | 'rollback' | 'continue';
  /** ISO 8601. */
  readonly at: string;
  /** The canary app and its release judged. */
  readonly app: string;
  readonly release: number;
  /** The build judged: its slug and commit. */
  readonly slugId: string;
  readonly commit: string | undefined;
  readonly summary: string;
}

/** Where `qsb monitor --record-verdict` leaves its verdicts and `qsb promote` / `qsb status` read them. */
export interface VerdictLog {
  readonly description: string;
  record(verdict: VerdictRecord): Promise<void>;
  /** Every verdict, oldest first. */
  all(): Promise<VerdictRecord[]>;
}

/** A JSON file of verdicts (`QSB_VERDICTS`, default `.qsb/verdicts.json`), the newest 100 kept. */
export class FileVerdictLog implements VerdictLog {
  public constructor(private readonly path: string) {}

  public get description(): string {
    return this.path;
  }

  public async all(): Promise<VerdictRecord[]> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw new CliError(`cannot read the verdicts ${this.path}: ${(error as Error).message}`);
    }
    try {
      const parsed = JSON.parse(text) as unknown;
      if (!Array.isArray(parsed)) throw new Error('not a JSON array');
      return parsed as VerdictRecord[];
    } catch (error) {
      throw new CliError(
        `the verdicts ${this.path} are not a JSON array of verdicts: ${(error as Error).message}`,
      );
    }
  }

  public async record(verdict: VerdictRecord): Promise<void> {
    const all = [...(await this.all()), verdict].slice(-100);
    await mkdir(dirname(this.path), { recursive: true });
    await writeFile(`${this.path}.tmp`, JSON.stringify(all, null, 2));
    await rename(`${this.path}.tmp`, this.path);
  }
}

/** The newest verdict on a build (by slug), if any. */
export async function lastVerdictOn(log: VerdictLog, slugId: string): Promise<VerdictRecord | undefined> {
  return (await log.all()).filter((v) => v.slugId === slugId).at(-1);
}

/** What `qsb monitor --record-verdict` needs of the pipeline. */
export interface VerdictTarget {
  readonly platform: Platform;
  readonly verdicts: VerdictLog;
  readonly apps: { readonly canary: string };
  readonly now: () => Date;
}

/**
 * Reads which build the canary runs now (before judging, so that a release during the window is not
 * credited with a verdict on another build) and returns what records the verdict on it.
 */
export async function verdictRecorder(
  target: VerdictTarget,
): Promise<(verdict: { verdict: VerdictRecord['verdict']; summary: string }) => Promise<VerdictRecord>> {
  const { platform, apps } = target;
  const release = await platform.currentRelease(apps.canary);
  if (release?.slugId === undefined) throw new CliError(`${apps.canary} has no build to judge`);
  const slugId = release.slugId;
  const commit = await platform.slugCommit(apps.canary, slugId);
  return async ({ verdict, summary }) => {
    const record: VerdictRecord = {
      verdict,
      at: target.now().toISOString(),
      app: apps.canary,
      release: release.version,
      slugId,
      commit,
      summary,
    };
    await target.verdicts.record(record);
    return record;
  };
}
