export type { Context as FlagContext, Variant as FlagVariant } from 'unleash-client';
export {
  createFlags,
  type Flags,
  FlagsDefaults,
  type FlagsLogger,
  type FlagsOptionalOptions,
  type FlagsOptions,
  type FlagsRequiredOptions,
  type FlagsSource,
  type FlagsStatus,
  type ReloadResult,
  type SetTimer,
} from './client/flags.ts';
export { type FileWatcher, PollingFileWatcher } from './client/watch.ts';
export { parseFlagsEnv, type UnleashServerOptions } from './env/env.ts';
export { FlagsError, type FlagsErrorCode, FlagsErrorCodes } from './errors/FlagsError.ts';
export {
  BUILT_IN_STRATEGIES,
  CONSTRAINT_OPERATORS,
  type FeatureFile,
  loadFeatureFile,
  parseFeatureFile,
  parseFeatureText,
} from './file/featureFile.ts';
export { type EvaluationResult, FlagMetricNames } from './metrics/metrics.ts';
export {
  contextFor,
  DEPLOYMENTS,
  type Deployment,
  type FlagTarget,
  type GuildAndUser,
  type GuildLike,
  type InteractionLike,
  type MemberLike,
  type StaticFields,
  type UserLike,
} from './target/target.ts';
