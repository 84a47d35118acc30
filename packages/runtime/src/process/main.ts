import type { Logger } from 'pino';
import { parseRuntimeEnv, type RuntimeConfig } from '../config/env.ts';
import { RuntimeError, RuntimeErrorCodes } from '../errors/RuntimeError.ts';
import { createLogger } from '../logging/logger.ts';
import { type Runtime, type RuntimeOptions, startRuntime } from '../runtime.ts';

/** Options of {@link runBot}: the runtime's, without the logger (built from LOG_LEVEL). */
export type RunBotOptions<F extends string> = Omit<RuntimeOptions<F>, 'logger'>;

/** Exit codes: 2 a refused environment or file, 1 a failure (fatal close, refused token, crash). */
const EXIT_CONFIG = 2;
const EXIT_FAILURE = 1;

/**
 * Runs a bot as its whole process: SIGTERM and SIGINT are handled from the first instant (a signal
 * during boot stops cleanly), the environment and files are checked before any request (one line on
 * stderr, exit 2), a shard closed for good exits 1 after saying why, and a SIGTERM saves the sessions
 * for the next process within the grace period.
 *
 * @example
 * await runBot({ name: 'my-bot', commands: [ping] });
 */
export async function runBot<const F extends string = never>(options: RunBotOptions<F>): Promise<void> {
  const name = options.name ?? 'qsb-bot';
  let signalled: string | undefined;
  let onSignal: (signal: string) => void = (signal) => {
    signalled = signal;
  };
  process.once('SIGTERM', () => onSignal('SIGTERM'));
  process.once('SIGINT', () => onSignal('SIGINT'));

  let config: RuntimeConfig;
  try {
    config = parseRuntimeEnv(options.env ?? process.env);
  } catch (error) {
    if (!(error instanceof RuntimeError)) throw error;
    process.stderr.write(`${name}: ${error.message}\n`);
    process.exit(EXIT_CONFIG);
  }
  const logger: Logger = createLogger({
    level: config.logLevel,
    deployment: config.sharding.deployment,
    version: config.version,
    secrets: [
      config.token,
      config.metricsToken ?? '',
      config.unleash?.apiToken ?? '',
      config.remoteWrite?.url ?? '',
    ],
  });
  const exit = (code: number) => logger.flush(() => process.exit(code));
  process.on('uncaughtException', (error) => {
    logger.fatal({ err: error }, 'uncaught exception');
    exit(EXIT_FAILURE);
  });
  process.on('unhandledRejection', (reason) => logger.error({ err: reason }, 'unhandled rejection'));

  let runtime: Runtime | undefined;
  let shuttingDown = false;
  const shutdown = (reason: string, code: number) => {
    if (shuttingDown) return;
    shuttingDown = true;
    logger.info({ signal: reason }, 'shutting down');
    // Heroku sends SIGKILL 30 s after SIGTERM: leave before that whatever happens.
    setTimeout(() => {
      logger.error({ graceMs: config.shutdownGraceMs }, 'shutdown took too long: exiting');
      exit(EXIT_FAILURE);
    }, config.shutdownGraceMs).unref();
    if (!runtime) {
      // Still booting: the boot sees `shuttingDown` when it returns.
      return;
    }
    // A signal hands the sessions over to a successor; a fatal close just stops.
    runtime.stop({ handoffWaitMs: code === 0 ? config.handoffWaitMs : 0 }).then(
      () => exit(code),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        exit(EXIT_FAILURE);
      },
    );
  };
  onSignal = (signal) => shutdown(signal, 0);
  if (signalled) shutdown(signalled, 0);

  try {
    runtime = await startRuntime({ ...options, logger });
  } catch (error) {
    const refused =
      error instanceof RuntimeError &&
      (error.code === RuntimeErrorCodes.InvalidEnvironment ||
        error.code === RuntimeErrorCodes.FlagsFileMissing);
    const message = error instanceof Error ? error.message : String(error);
    logger.fatal({ err: error }, `failed to start: ${message}`);
    process.stderr.write(`${name}: ${message}\n`);
    exit(refused ? EXIT_CONFIG : EXIT_FAILURE);
    return;
  }
  if (shuttingDown) {
    shuttingDown = false;
    shutdown(signalled ?? 'SIGTERM', 0);
    return;
  }
  void runtime.fatal.then((error) => {
    process.stderr.write(`${name}: ${error.message}\n`);
    shutdown(error.code, EXIT_FAILURE);
  });
  await Promise.race([runtime.ready, runtime.fatal]);
  if (!shuttingDown) logger.info({ shards: runtime.heldShards() }, 'every owned shard is ready');
}
