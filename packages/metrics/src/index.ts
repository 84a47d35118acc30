export {
  Catalog,
  CommonLabels,
  InteractionDurationBuckets,
  type InteractionOutcome,
  InteractionOutcomes,
  MetricNames,
  ProcessMetricNames,
  ShardStatusValues,
} from './catalog/catalog.ts';
export {
  collectSamples,
  DefaultRemoteWriterOptions,
  encodeWriteRequest,
  type RemoteSample,
  RemoteWriteError,
  type RemoteWriteErrorCode,
  RemoteWriteErrorCodes,
  type RemoteWriter,
  type RemoteWriterOptionalOptions,
  type RemoteWriterOptions,
  type RemoteWriterRequiredOptions,
  snappyLiterals,
  startRemoteWriter,
} from './push/remote-write.ts';
export {
  type BotMetrics,
  type BotMetricsOptionalOptions,
  type BotMetricsOptions,
  type BotMetricsRequiredOptions,
  createBotMetrics,
  DefaultBotMetricsOptions,
  type MetricDeployment,
} from './registry/metrics.ts';
