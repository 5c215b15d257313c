// The built-in load generator (ab's report, wrk2's constant rate) and the adapter that runs
// the real ab instead.
export { Histogram } from './histogram';
export type { HistogramState } from './histogram';
export { isLoadOptionsError, LoadOptionsError, parseHttpUrl, parseLoadOptions, TRANSPORTS } from './options';
export type { LoadInput, LoadOptions, Transport } from './options';
export { PERCENTILES, reportFromTally, toAbJson } from './report';
export type { LoadReport, PercentileKey, TimeStats } from './report';
export { defaultWorkerScript, runLoad } from './run-load';
export type { RunLoadExtras } from './run-load';
export { abArguments, AbError, isAbError, parseAbCsv, parseAbOutput, runAb } from './ab';
export type { RunAbExtras } from './ab';
