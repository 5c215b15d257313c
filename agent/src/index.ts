// @guestbench/agent: the benchmark suite, platform detection and the collector client.
export { BENCHMARK_IDS, getBenchmark, listBenchmarks } from './bench/registry';
export { runBenchmark, runSuite } from './bench/runner';
export type { BenchmarkOutcome, MeasuredSample, RunnerEvent, RunOptions } from './bench/runner';
export type { BenchmarkDefinition, MetricSpec, PreparedBenchmark } from './bench/types';
export { detectPlatform } from './detect/detect-platform';
export type { Detection, Evidence, Platform } from './detect/detect-platform';
export { loadProfile, parseProfile, PROFILE_NAMES } from './profiles/profile';
export type { Profile } from './profiles/profile';
export { AGENT_VERSION } from './version';
export { CollectorClient } from './report/collector-client';
export type { ClientTls, CollectorClientOptions } from './report/collector-client';
export { ReportThread } from './report/report-thread';
export type { ReportThreadOptions } from './report/report-thread';
