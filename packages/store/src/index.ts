export type { Lease, Store, StoreKind, Versioned, WatchOptions, WriteOptions } from './store.ts';
