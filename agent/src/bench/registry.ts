// Every benchmark the agent knows, in suite order. Adding one is one import and one line.
import { cpuFloat64 } from './cpu/float64';
import { cpuInt32 } from './cpu/int32';
import { memBandwidth } from './mem/bandwidth';
import { sysSpawn } from './sys/spawn';
import type { AnyBenchmark } from './types';

const BENCHMARKS: readonly AnyBenchmark[] = [
  cpuInt32,
  cpuFloat64,
  memBandwidth,
  sysSpawn,
];

const byId = new Map(BENCHMARKS.map((b) => [b.id, b]));

export const BENCHMARK_IDS: readonly string[] = BENCHMARKS.map((b) => b.id);

export function listBenchmarks(): readonly AnyBenchmark[] {
  return BENCHMARKS;
}

export function getBenchmark(id: string): AnyBenchmark {
  const def = byId.get(id);
  if (def === undefined) throw new Error(`unknown benchmark "${id}" (known: ${BENCHMARK_IDS.join(', ')})`);
  return def;
}
