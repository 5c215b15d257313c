// Summary statistics of a benchmark's trials, and the rule that decides when to stop.

export function mean(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  let sum = 0;
  for (const v of values) sum += v;
  return sum / values.length;
}

/** Sample standard deviation (n − 1); 0 for fewer than two values. */
export function standardDeviation(values: readonly number[]): number {
  if (values.length < 2) return 0;
  const m = mean(values);
  let ss = 0;
  for (const v of values) ss += (v - m) ** 2;
  return Math.sqrt(ss / (values.length - 1));
}

/** Relative standard deviation, sd / |mean|; 0.02 is 2%. */
export function relativeStandardDeviation(values: readonly number[]): number {
  const m = mean(values);
  if (!Number.isFinite(m) || m === 0) return 0;
  return standardDeviation(values) / Math.abs(m);
}

/**
 * Whether some trial lies more than 3 standard deviations from the others. Each value is
 * judged against the mean and SD of the rest, since with a handful of trials a value can
 * never be 3 SD away from a mean that includes it.
 */
export function hasOutlier(values: readonly number[], sigmas = 3): boolean {
  if (values.length < 4) return false;
  for (let i = 0; i < values.length; i++) {
    const rest = values.filter((_, j) => j !== i);
    const sd = standardDeviation(rest);
    const v = values[i] as number;
    if (sd > 0 && Math.abs(v - mean(rest)) > sigmas * sd) return true;
  }
  return false;
}

export interface StopRule {
  readonly minTrials: number;
  readonly maxTrials: number;
  readonly rsdThreshold: number;
  readonly budgetSeconds: number;
}

export type StopReason = 'stable' | 'max-trials' | 'budget';

/**
 * Decides after each trial whether to stop: never before minTrials; then when the RSD is
 * at or below the threshold and no trial is an outlier; or at the trial cap or the budget.
 */
export function shouldStop(values: readonly number[], elapsedSeconds: number, rule: StopRule): StopReason | undefined {
  if (values.length < rule.minTrials) return undefined;
  if (relativeStandardDeviation(values) <= rule.rsdThreshold && !hasOutlier(values)) return 'stable';
  if (values.length >= rule.maxTrials) return 'max-trials';
  if (elapsedSeconds >= rule.budgetSeconds) return 'budget';
  return undefined;
}
