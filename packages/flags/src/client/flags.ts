import { EventEmitter } from 'node:events';
import type { Registry } from 'prom-client';
import {
  type ClientFeaturesResponse,
  type Context,
  InMemStorageProvider,
  Unleash,
  UnleashEvents,
  type Variant,
} from 'unleash-client';
import type { UnleashServerOptions } from '../env/env.ts';
import { FlagsError, FlagsErrorCodes } from '../errors/FlagsError.ts';
import {
  type FeatureFile,
  parseFeatureFile,
  parseFeatureText,
  readFeatureText,
} from '../file/featureFile.ts';
import { type FlagCounts, newCounts, registerFlagMetrics } from '../metrics/metrics.ts';
import {
  contextFor,
  DEPLOYMENTS,
  type Deployment,
  type FlagTarget,
  type StaticFields,
} from '../target/target.ts';
import { type FileWatcher, PollingFileWatcher } from './watch.ts';

type FeatureInterface = ClientFeaturesResponse['features'][number];

/** The logger the client writes to: pino's `logger.warn(obj, msg)` shape. */
export interface FlagsLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** Schedules `callback` after `ms`; returns a function that cancels it. Tests pass a manual one. */
export type SetTimer = (callback: () => void, ms: number) => () => void;

/** What every flags client needs. */
export interface FlagsRequiredOptions {
  /** The application name, Unleash's `appName` context field. */
  readonly appName: string;
  /** This process's deployment: the `deployment` context field that canary-only constraints test. */
  readonly deployment: Deployment;
  readonly logger: FlagsLogger;
}

/** What a flags client may be given. */
export interface FlagsOptionalOptions<N extends string> {
  /**
   * Where `qsb_flag_evaluations_total` (and, with a server, `qsb_flags_server_connected`) go. The bot
   * passes its registry; a one-shot tool may leave it out and publish nothing.
   */
  readonly registry: Registry;
  /** The flag names the app uses; `flag()` then accepts only these (a misspelling fails to compile). */
  readonly names: readonly N[];
  /** The flags file (Unleash's client feature format): the flags with no server, the bootstrap with one. */
  readonly file: string;
  /** The same content as an object instead of a file (tests, tools). Ignored when `file` is set. */
  readonly data: unknown;
  /** The shard id in every context, unless the target names its guild's shard. */
  readonly shardId: number;
  /** The running version, the `version` context field. */
  readonly version: string;
  /** A real Unleash server (see `parseFlagsEnv`); without it, no network connection is ever opened. */
  readonly unleash: UnleashServerOptions;
  /** How long `ready` waits for the server (or the file) before it resolves anyway, in ms. */
  readonly startTimeoutMs: number;
  /** Reload the file when it changes (no server only): true, false, or a watcher of your own. */
  readonly watch: boolean | FileWatcher;
  /** How often the default watcher looks at the file, in ms. */
  readonly watchIntervalMs: number;
  readonly setTimer: SetTimer;
}

/** Options of {@link createFlags}. */
export type FlagsOptions<N extends string> = FlagsRequiredOptions & Partial<FlagsOptionalOptions<N>>;

/** @defaultValue the options a client gets when they are left out */
export const FlagsDefaults = {
  startTimeoutMs: 10_000,
  watchIntervalMs: 1000,
  refreshIntervalMs: 15_000,
  requestTimeoutMs: 10_000,
} as const satisfies {
  startTimeoutMs: number;
  watchIntervalMs: number;
  refreshIntervalMs: number;
  requestTimeoutMs: number;
};

/** Where the flags in force came from. `none`: nothing yet, every flag is off. */
export type FlagsSource = 'server' | 'file' | 'none';

/** What `ready` resolves to. It never rejects. */
export interface FlagsStatus {
  readonly source: FlagsSource;
  /** Start-up stopped waiting for the server after `startTimeoutMs`. */
  readonly timedOut: boolean;
}

/** What one reload did. */
export type ReloadResult = 'reloaded' | 'unchanged' | 'invalid' | 'closed';

/** A flags client: build one per process, pass it where flags are read. */
export interface Flags<N extends string = string> {
  /**
   * Whether flag `name` is on for `target`: a guild id, a discord.js Guild, User, GuildMember,
   * Interaction or Message, or `{ guild, user }`. Synchronous, in memory. Off when the flag is unknown
   * or no flags have arrived yet (fail closed).
   *
   * @example
   * if (flags.flag('quantum', interaction)) await runQuantum(interaction);
   */
  flag(name: N, target: FlagTarget): boolean;
  /** Raw evaluation of any flag name against an Unleash context (tests, tools); not counted. */
  evaluate(name: string, context: Context): boolean;
  /** Raw variant of any flag name against an Unleash context; Unleash's `disabled` variant when off. */
  variant(name: string, context: Context): Variant;
  /** The flags in force, as Unleash defines them. */
  definitions(): readonly FeatureInterface[];
  /** Resolves once flags are loaded (from the server, when one is set), or after `startTimeoutMs`. */
  readonly ready: Promise<FlagsStatus>;
  /** Where the flags in force come from, and whether the server answered its last poll. */
  status(): { readonly source: FlagsSource; readonly connected: boolean | undefined };
  /**
   * Reads the file again now (the watcher calls this; with no server only). An invalid file keeps the
   * flags in force and logs one error per distinct problem.
   */
  reload(): Promise<ReloadResult>;
  /** Stops polling and watching. Idempotent; evaluations answer from memory afterwards. */
  close(): void;
}

// With no server, unleash-client still requires a URL; this one is never requested (refreshInterval 0,
// metrics off) and could not resolve if it were (.invalid is reserved).
const NO_SERVER_URL = 'http://flags.invalid/api/';

// The polling fetcher reports a failed poll as an `error` event, or as a `warn` for the statuses it
// backs off from (404, 429, 5xx) and for reset sockets; these are the warnings that mean "server down".
const FETCH_WARNING = /responded|Backing off|keep alive/i;

const defaultSetTimer: SetTimer = (callback, ms) => {
  const handle = setTimeout(callback, ms);
  handle.unref();
  return () => clearTimeout(handle);
};

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * unleash-client's `destroy()` removes the repository's listeners; a fetch still in flight that then
 * fails emits `error` on the repository with nobody listening, which throws inside the fetch and
 * ends the process through an unhandled rejection. A no-op listener left behind absorbs it.
 */
function destroySafely(engine: Unleash): void {
  const repository: unknown = Reflect.get(engine, 'repository');
  engine.destroy();
  if (repository instanceof EventEmitter) repository.on(UnleashEvents.Error, () => {});
  engine.on(UnleashEvents.Error, () => {});
}

class FlagsClient<N extends string> implements Flags<N> {
  public readonly ready: Promise<FlagsStatus>;
  readonly #options: FlagsOptions<N>;
  readonly #fields: StaticFields;
  readonly #logger: FlagsLogger;
  readonly #setTimer: SetTimer;
  readonly #startTimeoutMs: number;
  readonly #counts = new Map<string, FlagCounts>();
  readonly #warned = new Set<string>();
  readonly #metrics;
  /** The engine `flag()` reads; undefined until flags are loaded, and when the file defines none. */
  #engine: Unleash | undefined;
  #loaded = false;
  #source: FlagsSource = 'none';
  #connected: boolean | undefined;
  #closed = false;
  #resolveReady: (status: FlagsStatus) => void = () => {};
  #readyDone = false;
  #cancelStart: () => void = () => {};
  #stopWatch: () => void = () => {};
  #server: Unleash | undefined;
  #lastGoodText: string | undefined;
  #lastBadText: string | undefined;
  #reloading: Promise<ReloadResult> = Promise.resolve('unchanged');

  public constructor(options: FlagsOptions<N>) {
    if (!DEPLOYMENTS.includes(options.deployment)) {
      throw new FlagsError(
        FlagsErrorCodes.InvalidOption,
        `deployment ${JSON.stringify(options.deployment)}: must be ${DEPLOYMENTS.join(' or ')}`,
      );
    }
    if (options.appName === '') {
      throw new FlagsError(FlagsErrorCodes.InvalidOption, 'appName: must not be empty');
    }
    const server = options.unleash;
    if (
      server?.timeoutMs !== undefined &&
      !(Number.isInteger(server.timeoutMs) && server.timeoutMs >= 1000)
    ) {
      // unleash-client retries a failed request after at least 1 s and refuses a shorter timeout.
      throw new FlagsError(
        FlagsErrorCodes.InvalidOption,
        `unleash.timeoutMs ${server.timeoutMs}: must be an integer of at least 1000 (milliseconds)`,
      );
    }
    if (
      server?.refreshIntervalMs !== undefined &&
      !(Number.isInteger(server.refreshIntervalMs) && server.refreshIntervalMs >= 10)
    ) {
      throw new FlagsError(
        FlagsErrorCodes.InvalidOption,
        `unleash.refreshIntervalMs ${server.refreshIntervalMs}: must be an integer of at least 10 (milliseconds)`,
      );
    }
    this.#options = options;
    this.#logger = options.logger;
    this.#setTimer = options.setTimer ?? defaultSetTimer;
    this.#startTimeoutMs = options.startTimeoutMs ?? FlagsDefaults.startTimeoutMs;
    this.#fields = { deployment: options.deployment, shardId: options.shardId, version: options.version };
    this.ready = new Promise((resolve) => {
      this.#resolveReady = resolve;
    });
    const bootstrap = this.#readBootstrap();
    this.#metrics =
      options.registry === undefined
        ? { setConnected: () => {} }
        : registerFlagMetrics(options.registry, this.#counts, options.unleash !== undefined);
    if (options.unleash !== undefined) {
      this.#startServer(options.unleash, bootstrap);
    } else {
      void this.#install(bootstrap).then(() => this.#finishStart(false));
      const watch = options.watch ?? true;
      if (options.file !== undefined && watch !== false) {
        const watcher = watch === true ? new PollingFileWatcher(options.watchIntervalMs) : watch;
        this.#stopWatch = watcher.watch(options.file, () => void this.reload());
      }
    }
  }

  public flag(name: N, target: FlagTarget): boolean {
    let counts = this.#counts.get(name);
    if (counts === undefined) {
      counts = newCounts();
      this.#counts.set(name, counts);
    }
    const engine = this.#engine;
    if (engine === undefined || engine.getFeatureToggleDefinition(name) === undefined) {
      counts.unknown++;
      if (this.#loaded && !this.#warned.has(name)) this.#warnUnknown(name);
      return false;
    }
    const on = engine.isEnabled(name, contextFor(target, this.#fields));
    if (on) counts.on++;
    else counts.off++;
    return on;
  }

  public evaluate(name: string, context: Context): boolean {
    const engine = this.#engine;
    return engine?.isEnabled(name, context) ?? false;
  }

  public variant(name: string, context: Context): Variant {
    const engine = this.#engine;
    if (engine === undefined) return { name: 'disabled', enabled: false, feature_enabled: false };
    return engine.getVariant(name, context);
  }

  public definitions(): readonly FeatureInterface[] {
    return this.#engine?.getFeatureToggleDefinitions() ?? [];
  }

  public status(): { readonly source: FlagsSource; readonly connected: boolean | undefined } {
    return { source: this.#source, connected: this.#connected };
  }

  public reload(): Promise<ReloadResult> {
    this.#reloading = this.#reloading.then(() => this.#reloadOnce());
    return this.#reloading;
  }

  public close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#stopWatch();
    this.#cancelStart();
    if (this.#server !== undefined) destroySafely(this.#server);
    else if (this.#engine !== undefined) destroySafely(this.#engine);
    this.#finishStart(false);
  }

  #warnUnknown(name: string): void {
    this.#warned.add(name);
    this.#logger.warn(
      { flag: name, source: this.#source },
      `unknown flag "${name}" is off: the flags in force (${this.#source}) do not define it`,
    );
  }

  #finishStart(timedOut: boolean): void {
    if (this.#readyDone) return;
    this.#readyDone = true;
    this.#cancelStart();
    this.#resolveReady({ source: this.#source, timedOut });
  }

  /** The file (or data) at start-up; an invalid one is refused here, before anything runs. */
  #readBootstrap(): FeatureFile | undefined {
    const { file, data } = this.#options;
    if (file !== undefined) {
      const text = readFeatureText(file);
      const parsed = parseFeatureText(text, file);
      this.#lastGoodText = text;
      this.#logWarnings(parsed);
      return parsed;
    }
    if (data !== undefined) {
      const parsed = parseFeatureFile(data, 'data');
      this.#logWarnings(parsed);
      return parsed;
    }
    return undefined;
  }

  #logWarnings(file: FeatureFile): void {
    const source = this.#options.file ?? 'data';
    for (const warning of file.warnings)
      this.#logger.warn({ file: source }, `flags file ${source}: ${warning}`);
  }

  /** Builds an engine for `file` with no server, waits until it has the flags, then puts it in force. */
  async #install(file: FeatureFile | undefined): Promise<void> {
    if (file === undefined || file.features.length === 0) {
      // unleash-client never becomes ready on an empty bootstrap with polling off: skip it.
      const previous = this.#engine;
      this.#engine = undefined;
      this.#loaded = true;
      this.#source = file === undefined ? 'none' : 'file';
      if (previous !== undefined) destroySafely(previous);
      return;
    }
    const engine = new Unleash({
      appName: this.#options.appName,
      url: NO_SERVER_URL,
      refreshInterval: 0,
      disableMetrics: true,
      storageProvider: new InMemStorageProvider(),
      bootstrap: { data: [...file.features], segments: file.segments },
      skipInstanceCountWarning: true,
    });
    this.#listen(engine);
    const ready = await this.#engineReady(engine);
    if (this.#closed || !ready) {
      destroySafely(engine);
      if (!ready)
        this.#logger.error(
          {},
          'flags engine did not load the flags file in time; keeping the flags in force',
        );
      return;
    }
    const previous = this.#engine;
    this.#engine = engine;
    this.#loaded = true;
    this.#source = 'file';
    if (previous !== undefined) destroySafely(previous);
  }

  #engineReady(engine: Unleash): Promise<boolean> {
    return new Promise((resolve) => {
      const cancel = this.#setTimer(() => resolve(false), this.#startTimeoutMs);
      engine.once(UnleashEvents.Ready, () => {
        cancel();
        resolve(true);
      });
    });
  }

  #listen(engine: Unleash): void {
    engine.on(UnleashEvents.Error, (error: unknown) =>
      this.#logger.error({ err: describe(error) }, `flags engine error: ${describe(error)}`),
    );
    engine.on(UnleashEvents.Warn, (message: unknown) =>
      this.#logger.warn({ detail: describe(message) }, `flags engine: ${describe(message)}`),
    );
  }

  async #reloadOnce(): Promise<ReloadResult> {
    const file = this.#options.file;
    if (this.#closed) return 'closed';
    if (file === undefined || this.#options.unleash !== undefined) return 'unchanged';
    let text: string;
    let parsed: FeatureFile;
    try {
      text = readFeatureText(file);
      if (text === this.#lastGoodText) return 'unchanged';
      parsed = parseFeatureText(text, file);
    } catch (error) {
      const detail = error instanceof FlagsError ? error.detail : describe(error);
      if (detail !== this.#lastBadText) {
        this.#lastBadText = detail;
        this.#logger.error(
          { file, code: error instanceof FlagsError ? error.code : undefined },
          `flags file ${file} was not applied: ${detail}; keeping the last good flags`,
        );
      }
      return 'invalid';
    }
    this.#lastBadText = undefined;
    this.#logWarnings(parsed);
    await this.#install(parsed);
    if (this.#closed) return 'closed';
    this.#lastGoodText = text;
    this.#logger.info({ file, flags: parsed.features.length }, `flags file ${file} reloaded`);
    return 'reloaded';
  }

  #startServer(server: UnleashServerOptions, bootstrap: FeatureFile | undefined): void {
    const hasBootstrap = bootstrap !== undefined && bootstrap.features.length > 0;
    const engine = new Unleash({
      appName: this.#options.appName,
      url: server.url,
      refreshInterval: server.refreshIntervalMs ?? FlagsDefaults.refreshIntervalMs,
      timeout: server.timeoutMs ?? FlagsDefaults.requestTimeoutMs,
      customHeaders: { Authorization: server.apiToken },
      disableMetrics: true,
      storageProvider: new InMemStorageProvider(),
      skipInstanceCountWarning: true,
      ...(hasBootstrap ? { bootstrap: { data: [...bootstrap.features], segments: bootstrap.segments } } : {}),
    });
    this.#server = engine;
    // The bootstrap is applied within microtasks of start, before any response can arrive: the
    // first `changed` is the file's, every later one a poll's.
    let bootstrapPending = hasBootstrap;
    // unleash-client answers only after its `ready` event (before it, isEnabled returns the fallback
    // and warns), which comes a tick after the data: the engine goes in force then, not before.
    engine.on(UnleashEvents.Ready, () => {
      if (this.#closed) return;
      this.#engine = engine;
      this.#loaded = true;
      if (this.#source === 'none') this.#source = 'file';
      if (this.#connected === true) this.#serverAnswered();
    });
    engine.on(UnleashEvents.Changed, () => {
      if (bootstrapPending) {
        bootstrapPending = false;
        return;
      }
      this.#serverAnswered();
    });
    engine.on(UnleashEvents.Unchanged, () => this.#serverAnswered());
    engine.on(UnleashEvents.Error, (error: unknown) => this.#serverFailed(describe(error)));
    engine.on(UnleashEvents.Warn, (message: unknown) => {
      const text = describe(message);
      if (FETCH_WARNING.test(text)) this.#serverFailed(text);
      else this.#logger.warn({ detail: text }, `flags engine: ${text}`);
    });
    this.#cancelStart = this.#setTimer(() => {
      if (this.#readyDone || this.#closed) return;
      this.#logger.warn(
        { url: server.url, timeoutMs: this.#startTimeoutMs },
        `flag server ${server.url} did not answer within ${this.#startTimeoutMs} ms; ${
          this.#loaded ? 'the flags file is in force' : 'every flag is off'
        } until it does`,
      );
      this.#finishStart(true);
    }, this.#startTimeoutMs);
  }

  #serverAnswered(): void {
    if (this.#closed) return;
    if (this.#connected !== true) {
      this.#connected = true;
      this.#metrics.setConnected(true);
      this.#logger.info({ url: this.#options.unleash?.url }, 'flag server connected; its flags are in force');
    }
    if (this.#engine === undefined) return; // the `ready` event finishes this
    this.#source = 'server';
    this.#finishStart(false);
  }

  #serverFailed(detail: string): void {
    if (this.#closed) return;
    if (this.#connected === false) return;
    this.#connected = false;
    this.#metrics.setConnected(false);
    this.#logger.warn(
      { url: this.#options.unleash?.url, err: detail },
      `flag server unreachable (${detail}); keeping the ${this.#loaded ? `last known flags (${this.#source})` : 'flags off'} until it answers`,
    );
  }
}

/**
 * Builds a flags client. With no `unleash` server, the flags come from `file` alone: no network
 * connection is opened, and an edit to the file takes effect within `watchIntervalMs`. With a
 * server, the file is the bootstrap used until the server answers; `ready` waits for the server at
 * most `startTimeoutMs`, and every flag is off until some flags are loaded.
 *
 * @throws {@link FlagsError} `INVALID_FILE` for an unreadable or malformed file, `INVALID_OPTION`,
 * `METRIC_REGISTERED` when the registry already has a flags client's metrics.
 * @example
 * const flags = createFlags({
 *   names: ['quantum'],
 *   file: 'flags/features.json',
 *   appName: 'quantum-superbot',
 *   deployment: 'canary',
 *   registry,
 *   logger,
 *   unleash: parseFlagsEnv(process.env),
 * });
 * await flags.ready;
 * flags.flag('quantum', interaction);
 */
export function createFlags<const N extends string = string>(options: FlagsOptions<N>): Flags<N> {
  return new FlagsClient(options);
}
