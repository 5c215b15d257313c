// A sample in the protocol's shape, from the fields agent and collector both hold.
import { Direction, type Sample } from './gen/guestbench/v1/common';

/** A measured sample as either side holds it, the direction in words. */
export interface SampleFields {
  readonly id: string;
  readonly benchmarkId: string;
  readonly metric: string;
  readonly unit: string;
  readonly direction: 'higher' | 'lower';
  /** Mean of the trials. */
  readonly value: number;
  readonly trials: readonly number[];
  readonly rsd: number;
  readonly stealFraction: number;
  readonly parameters: Readonly<Record<string, string>>;
  readonly primary: boolean;
  readonly clocksource: string;
  readonly durationSeconds: number;
  readonly finishedAtMs: number;
  /** How the value was obtained, e.g. precision-not-reached, not-settled, trial-retried. */
  readonly flags: readonly string[];
}

export function directionToWire(direction: 'higher' | 'lower'): Direction {
  return direction === 'higher' ? Direction.DIRECTION_HIGHER_IS_BETTER : Direction.DIRECTION_LOWER_IS_BETTER;
}

export function sampleToWire(s: SampleFields): Sample {
  return {
    id: s.id,
    benchmarkId: s.benchmarkId,
    metric: s.metric,
    unit: s.unit,
    direction: directionToWire(s.direction),
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
