export { type CreateStoreOptions, createStore } from './createStore.ts';
export { StoreError, type StoreErrorCode, StoreErrorCodes } from './errors/StoreError.ts';
export type { FileLockOptions } from './file/FileLock.ts';
export { FileStore, type FileStoreOptions } from './file/FileStore.ts';
export { MemoryStore, type MemoryStoreOptions } from './memory/MemoryStore.ts';
export { RedisStore, type RedisStoreOptions } from './redis/RedisStore.ts';
export type { Lease, Store, StoreKind, Versioned, WatchOptions, WriteOptions } from './store.ts';
export {
  DefaultRedisPrefix,
  DefaultStoreFile,
  maskStoreUrl,
  type ParseStoreUrlOptions,
  parseStoreUrl,
  type StoreLocation,
} from './url/parseStoreUrl.ts';
export { DefaultWatchIntervalMs } from './watch/poll.ts';
