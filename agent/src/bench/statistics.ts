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

/** Two-sided 95 % quantiles of Student's t for 1–30 degrees of freedom. */
const T975 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069,
  2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
];

/** The 0.975 quantile of Student's t with `df` degrees of freedom (df ≥ 1). */
export function tQuantile975(df: number): number {
  if (df < 1) return Number.POSITIVE_INFINITY;
  const tabled = T975[Math.floor(df) - 1];
  if (tabled !== undefined) return tabled;
  // Beyond the table, the first terms of the Cornish–Fisher expansion around the normal 1.96
  // are within 0.001 of the exact value.
  const z = 1.959964;
  return z + (z ** 3 + z) / (4 * df) + (5 * z ** 5 + 16 * z ** 3 + 3 * z) / (96 * df * df);
}

/**
 * Half-width of the 95 % confidence interval of the mean of `values`, relative to the mean
 * (0.05 = the mean is known to ±5 %): t · sd / √n / |mean|. Infinite for fewer than two
 * values or a zero mean, so that "not yet known" never passes a precision target. It treats
 * the trials as independent draws, so it says how well this run pinned its own mean down,
 * not how much another run would differ (the collector's comparison judges that).
 */
export function relativeHalfWidth(values: readonly number[]): number {
  const n = values.length;
  const m = mean(values);
  if (n < 2 || !Number.isFinite(m) || m === 0) return Number.POSITIVE_INFINITY;
  return (tQuantile975(n - 1) * standardDeviation(values)) / Math.sqrt(n) / Math.abs(m);
}
