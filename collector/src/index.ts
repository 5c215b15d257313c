// @guestbench/collector: start a collector in-process, compare stored runs, format reports.
export { startCollector, splitHostPort } from './collector';
export type { CollectorOptions, RunningCollector } from './collector';
export { compare, parseGroupSpec } from './compare/compare';
export type { BenchmarkRow, CategoryRow, CompareOptions, CompareResult, Flag, GroupResult } from './compare/compare';
export { geometricMean, studentTQuantile, welchLogRatio } from './compare/statistics';
export type { RatioEstimate } from './compare/statistics';
export { createLogger } from './log';
export type { Logger } from './log';
export { formatComparison } from './report/format-comparison';
export { SqliteStore } from './store/sqlite-store';
export type { Store } from './store/store';
export type { RunRecord, SampleRecord, RunStatus } from './model';
