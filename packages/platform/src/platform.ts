/**
 * What the release pipeline asks of the place where the apps run. Heroku's Platform API is the model:
 * a build turns a source version into a slug and releases it; a release is a numbered, immutable
 * (slug, config) pair; promotion copies a slug to another app; a rollback is a new release made of an
 * earlier one.
 */

/** The state of a build or a release, as Heroku names it. */
export type BuildStatus = 'pending' | 'succeeded' | 'failed';

/** A build: one source version turned into a runnable slug. */
export interface Build {
  readonly id: string;
  readonly status: BuildStatus;
  /** The git commit the build was made from. */
  readonly sourceVersion: string;
  /** The slug it produced, once succeeded. */
  readonly slugId: string | undefined;
  /** The release the build created on its app, once succeeded. */
  readonly releaseId: string | undefined;
}

/** A release of an app: a slug with the app's config, numbered from 1. */
export interface Release {
  readonly id: string;
  /** Heroku's release number (`v12` is version 12). */
  readonly version: number;
  readonly status: BuildStatus;
  readonly slugId: string | undefined;
  readonly description: string;
  /** Whether this is the release the app runs now. */
  readonly current: boolean;
  /** ISO 8601. */
  readonly createdAt: string;
}

/** The state of one process of an app, as Heroku names dyno states. */
export type DynoState = 'starting' | 'up' | 'crashed' | 'down' | 'idle';

/** One running (or crashed) process of an app. */
export interface Dyno {
  /** `web.1`, `worker.2`. */
  readonly name: string;
  readonly type: string;
  readonly state: DynoState;
  /** The release the process runs. */
  readonly releaseVersion: number | undefined;
}

/** The source to build: a commit of a git repository on this machine. */
export interface SourceRef {
  /** The repository's work tree or git directory. */
  readonly repo: string;
  /** The full commit id (resolve a branch or tag first with `resolveRef`). */
  readonly commit: string;
}

/** An app to create, with its config. */
export interface AppSpec {
  readonly name: string;
  /** @defaultValue 'heroku-24' */
  readonly stack?: string;
  readonly config: Readonly<Record<string, string>>;
  /** Process type to quantity, e.g. `{ web: 1 }`. */
  readonly formation: Readonly<Record<string, number>>;
}

/** Config var changes: a `null` value deletes the variable (as in Heroku's PATCH). */
export type ConfigChanges = Readonly<Record<string, string | null>>;

/**
 * The platform seam. Every method acts on an app by name and throws {@link PlatformError} with a code
 * for what an operator must act on.
 */
export interface Platform {
  readonly kind: 'heroku' | 'local';
  /** Whether the app exists. */
  hasApp(app: string): Promise<boolean>;
  /** Creates the app with its config and formation; an existing app keeps its releases and gets the config. */
  createApp(spec: AppSpec): Promise<void>;
  /** Builds `source` on `app` and waits for the result; a succeeded build has released itself. */
  build(app: string, source: SourceRef): Promise<Build>;
  /** Releases an existing slug on `app` (a promotion when the slug came from another app). */
  release(app: string, slugId: string, description: string): Promise<Release>;
  /** The app's releases, oldest first. */
  releases(app: string): Promise<Release[]>;
  /** The release the app runs now, if any. */
  currentRelease(app: string): Promise<Release | undefined>;
  /** The git commit of a slug (its build's source version). */
  slugCommit(app: string, slugId: string): Promise<string | undefined>;
  /** Copies `from`'s current slug to `to` as a new release: the very same build, no rebuild. */
  copyBuild(from: string, to: string): Promise<Release>;
  /** Rolls `app` back to `releaseId`, or to the release before the current one: a new release. */
  rollback(app: string, releaseId?: string): Promise<Release>;
  /** The app's config vars. */
  config(app: string): Promise<Record<string, string>>;
  /** Changes config vars (every change makes a release and restarts every process). */
  setConfig(app: string, changes: ConfigChanges): Promise<Record<string, string>>;
  /** The app's processes and their state. */
  dynos(app: string): Promise<Dyno[]>;
  /** Sets how many processes of each type run (types the build does not have are left out). */
  scale(app: string, formation: Readonly<Record<string, number>>): Promise<void>;
  /** Where the app's web processes answer HTTP (`/healthz`, `/readyz`, `/metrics`), if it has any. */
  webUrls(app: string): Promise<string[]>;
}
