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
  type BotMetrics,
  type BotMetricsOptionalOptions,
  type BotMetricsOptions,
  type BotMetricsRequiredOptions,
  createBotMetrics,
  DefaultBotMetricsOptions,
  type MetricDeployment,
  MisnamedDefaultGauges,
} from './registry/metrics.ts';
