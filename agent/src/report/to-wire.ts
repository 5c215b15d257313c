// Measured samples in the protocol's shape.
import { Direction, sampleId, type Sample } from '@guestbench/proto';
import type { MeasuredSample } from '../bench/runner';

export function sampleToWire(runId: string, s: MeasuredSample): Sample {
  return {
    id: sampleId(runId, s.benchmarkId, s.metric),
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
  };
}
