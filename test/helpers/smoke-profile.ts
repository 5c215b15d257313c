// What a smoke run of the agent produces, from the agent's own registry and profile data,
// so tests follow the suite as benchmarks are added.
import { getBenchmark, listBenchmarks, loadProfile } from '@guestbench/agent';

export function smokeBenchmarkIds(): readonly string[] {
  return loadProfile('smoke', listBenchmarks()).benchmarks;
}

/** Samples a complete smoke run yields: one per metric of each benchmark. */
export function smokeMetricCount(): number {
  return smokeBenchmarkIds().reduce((n, id) => n + getBenchmark(id).metrics.length, 0);
}
