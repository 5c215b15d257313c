// The shared shape of the 4 KiB random benchmarks: IOPS plus per-operation latency p50/p99.
import { latencyPercentiles, type MetricSpec } from '../types';
import type { LatencyRecorder } from './latency-recorder';
import type { TimedResult } from './timed-loop';

export const RANDOM_METRICS: readonly MetricSpec[] = [{ name: 'iops', unit: 'IOPS', direction: 'higher', primary: true }, ...latencyPercentiles('µs')];

/** A uniformly random 4 KiB block index in [0, blocks). */
export function randomBlock(blocks: number): number {
  return Math.floor(Math.random() * blocks);
}

export function randomTrialValues(run: TimedResult, latencies: LatencyRecorder, extraSeconds = 0): Record<string, number> {
  const [p50, p99] = latencies.percentiles([50, 99]) as [number, number];
  return { iops: run.ops / (run.seconds + extraSeconds), p50, p99 };
}
