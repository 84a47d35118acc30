#!/usr/bin/env -S node --import tsx
import type { Logger } from 'pino';
import { startBot } from './bot.ts';
import { ConfigError, parseBotEnv } from './config/env.ts';
import { createLogger } from './logging/logger.ts';

async function main(): Promise<void> {
  let config: ReturnType<typeof parseBotEnv>;
  try {
    config = parseBotEnv(process.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`quantum-superbot: ${error.message}\n`);
    process.exit(2);
  }
  const logger: Logger = createLogger({
    level: config.logLevel,
    deployment: config.sharding.deployment,
    version: config.version,
    secrets: [config.token, config.metricsToken ?? '', config.unleash?.apiToken ?? ''],
  });
  process.on('uncaughtException', (error) => {
    logger.fatal({ err: error }, 'uncaught exception');
    logger.flush();
    process.exit(1);
  });
  process.on('unhandledRejection', (reason) => logger.error({ err: reason }, 'unhandled rejection'));

  const bot = await startBot(config, { logger });

  const shutdown = (signal: string) => {
    logger.info({ signal }, 'shutting down');
    // Heroku sends SIGKILL 30 s after SIGTERM: leave before that whatever happens.
    setTimeout(() => {
      logger.error({ graceMs: config.shutdownGraceMs }, 'shutdown took too long: exiting');
      logger.flush(() => process.exit(1));
    }, config.shutdownGraceMs).unref();
    bot.stop().then(
      () => logger.flush(() => process.exit(0)),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        logger.flush(() => process.exit(1));
      },
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
  await bot.ready;
  logger.info({ shards: bot.shards.shardIds }, 'every owned shard is ready');
}

main().catch((error: unknown) => {
  process.stderr.write(
    `quantum-superbot: failed to start: ${error instanceof Error ? error.message : String(error)}\n`,
  );
  process.exit(1);
});
