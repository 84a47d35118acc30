export {
  DefaultJudgeConfigInput,
  defaultConfig,
  type GaugeMetricConfig,
  type HistogramMetricConfig,
  type JudgeConfig,
  type JudgeConfigInput,
  type MetricConfig,
  parseConfig,
  type RateMetricConfig,
  resolveConfig,
  type SeriesSelector,
} from './config/config.ts';
export { CanaryError, type CanaryErrorCode, CanaryErrorCodes } from './exposition/errors.ts';
export {
  formatScrape,
  type MetricType,
  parseExposition,
  parseRecording,
  readRecording,
  type Sample,
  type Scrape,
} from './exposition/parse.ts';
export {
  type DataNeeded,
  type Detectable,
  type EffectReport,
  type EvaluateOptions,
  evaluate,
  type MetricDecision,
  type MetricReason,
  type ScrapeHealth,
  type Verdict,
} from './judge/evaluate.ts';
export {
  bucketMoments,
  bucketValues,
  type DataStatus,
  emptyData,
  GaugeStaleMs,
  type MetricData,
  type SeenSeries,
  type Side,
} from './judge/extract.ts';
export { formatEffect, formatProgress, formatVerdict } from './judge/format.ts';
export { createJudge, type Judge, judge } from './judge/judge.ts';
export {
  configMetricNames,
  createHttpSource,
  createPrometheusSource,
  DefaultHttpSourceOptions,
  DefaultPrometheusSourceOptions,
  type HttpSourceOptions,
  type MetricSource,
  type PrometheusSourceOptions,
} from './sources/sources.ts';
export {
  type Comparison,
  compareLevels,
  compareMeans,
  compareRates,
  compareTrends,
  type LevelPoint,
  type MeanInterval,
  MinLevelPoints,
  MinTrendPoints,
  type Moments,
  type RateInterval,
  type Tuning,
} from './stats/estimators.ts';
export {
  type Component,
  type Decision,
  DefaultDispersionPrior,
  type DispersionPrior,
  dataFactor,
  decide,
  dispersion,
  type Interval,
  mixtureRadius,
} from './stats/sequential.ts';
export {
  type BoundaryCache,
  createBoundaryCache,
  obrienFlemingSpending,
  powerQuantile,
  spendingBoundaries,
} from './stats/spending.ts';
