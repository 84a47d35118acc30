export { PlatformError, type PlatformErrorCode, PlatformErrorCodes } from './errors/PlatformError.ts';
export {
  HerokuPlatform,
  HerokuPlatformDefaults,
  type HerokuPlatformOptionalOptions,
  type HerokuPlatformOptions,
} from './heroku/HerokuPlatform.ts';
export {
  LocalPlatform,
  LocalPlatformDefaults,
  type LocalPlatformOptionalOptions,
  type LocalPlatformOptions,
  parseProcfile,
} from './local/LocalPlatform.ts';
export type {
  AppSpec,
  Build,
  BuildStatus,
  ConfigChanges,
  Dyno,
  DynoState,
  Platform,
  Release,
  SourceRef,
} from './platform.ts';
export { archiveCommit, resolveRef, snapshotCommit } from './source/git.ts';
