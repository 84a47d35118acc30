export {
  type IdentifyMode,
  parseRuntimeEnv,
  parseStoreSpec,
  type RuntimeConfig,
  RuntimeConfigDefaults,
  type StoreSpec,
} from './config/env.ts';
export { RuntimeError, type RuntimeErrorCode, RuntimeErrorCodes } from './errors/RuntimeError.ts';
export { Backoff, type BackoffOptions } from './gateway/backoff.ts';
export {
  FatalCloseCodes,
  ResumableCloseCode,
  type SessionCache,
  type ShardListener,
  ShardSet,
  type ShardSetOptions,
  type ShardState,
} from './gateway/shards.ts';
export { createHttpServer, type HttpServerOptions } from './http/server.ts';
export {
  type AbortableSleep,
  SlottedIdentifyThrottler,
  type SlottedThrottlerOptions,
  StoreIdentifyThrottler,
  type StoreThrottlerOptions,
} from './identify/throttlers.ts';
export {
  ACK_DEADLINE_MS,
  type Command,
  type CommandContext,
  createInteractionHandler,
  type InteractionHandler,
  type InteractionHandlerOptions,
  RecentIds,
} from './interactions/handler.ts';
export {
  type CommandInteraction,
  type CommandOptions,
  createCommandInteraction,
  isExpired,
  MissingOptionError,
  type ReplyMessage,
} from './interactions/interaction.ts';
export {
  createLogger,
  describeError,
  type LoggerOptions,
  RedactedPaths,
  scrubSecrets,
} from './logging/logger.ts';
export { type RunBotOptions, runBot } from './process/main.ts';
export {
  flagTarget,
  type RawEventHandler,
  type Runtime,
  RuntimeDefaults,
  type RuntimeOptionalOptions,
  type RuntimeOptions,
  type RuntimeRequiredOptions,
  startRuntime,
} from './runtime.ts';
export {
  type SavedSession,
  SessionBook,
  type SessionBookOptions,
  sessionKey,
  sessionLease,
} from './sessions/sessions.ts';
