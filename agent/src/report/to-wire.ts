// Measured samples in the protocol's shape.
import { Direction, type Sample } from '@guestbench/proto';
import type { MeasuredSample } from '../bench/runner';

/** A sample id is the run id plus benchmark and metric: a resend carries the same id. */
export function sampleId(runId: string, s: Pick<MeasuredSample, 'benchmarkId' | 'metric'>): string {
  return `${runId}:${s.benchmarkId}:${s.metric}`;
}

export function sampleToWire(runId: string, s: MeasuredSample): Sample {
  return {
    id: sampleId(runId, s),
    benchmarkId: s.benchmarkId,
    metric: s.metric,
    unit: s.unit,
    direction: s.direction === 'higher' ? Direction.DIRECTION_HIGHER_IS_BETTER : Direction.DIRECTION_LOWER_IS_BETTER,
    value: s.value,
    trials: [...s.trials],
    trialCount: s.trials.length,
    rsd: s.rsd,
    stealFraction: s.stealFraction,
    parameters: { ...s.parameters },
    primary: s.primary,
    clocksource: s.clocksource,
    durationSeconds: s.durationSeconds,
    finishedAtMs: s.finishedAtMs,
    flags: [...s.flags],
  };
}
