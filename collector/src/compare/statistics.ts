// The statistics behind the comparison: Student's t distribution, Welch's interval on log
// values (ratios are multiplicative, so the interval is symmetric in log space), and
// geometric means.

function logGamma(x: number): number {
  // Lanczos approximation (g = 7, n = 9); accurate to ~1e-15 for x > 0.
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012,
    9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const z = x - 1;
  let a = c[0] as number;
  const t = z + 7.5;
  for (let i = 1; i < 9; i++) a += (c[i] as number) / (z + i);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Continued fraction for the incomplete beta function (Numerical Recipes, betacf). */
function betaContinuedFraction(a: number, b: number, x: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 300; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-15) break;
  }
  return h;
}

/** Regularized incomplete beta I_x(a, b). */
export function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x));
  return x < (a + 1) / (a + b + 2) ? (front * betaContinuedFraction(a, b, x)) / a : 1 - (front * betaContinuedFraction(b, a, 1 - x)) / b;
}

/** P(T ≤ t) for Student's t with `df` degrees of freedom (df may be fractional, as Welch's is). */
export function studentTCdf(t: number, df: number): number {
  const x = df / (df + t * t);
  const tail = 0.5 * incompleteBeta(x, df / 2, 0.5);
  return t >= 0 ? 1 - tail : tail;
}

/** Student's t density. */
function studentTPdf(t: number, df: number): number {
  return Math.exp(logGamma((df + 1) / 2) - logGamma(df / 2) - 0.5 * Math.log(df * Math.PI) - ((df + 1) / 2) * Math.log1p((t * t) / df));
}

/** Standard normal quantile (Acklam's rational approximation, |error| < 1.2e-9). */
function normalQuantile(p: number): number {
  const a = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
  const b = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
  const c = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
  const poly = (coef: number[], x: number): number => coef.reduce((acc, k) => acc * x + k, 0);
  if (p < 0.02425) {
    const q = Math.sqrt(-2 * Math.log(p));
    return poly(c, q) / (poly(d, q) * q + 1);
  }
  if (p > 1 - 0.02425) {
    const q = Math.sqrt(-2 * Math.log(1 - p));
    return -poly(c, q) / (poly(d, q) * q + 1);
  }
  const q = p - 0.5;
  const r = q * q;
  return (poly(a, r) * q) / (poly(b, r) * r + 1);
}

/**
 * The t value with P(T ≤ t) = p: Newton's method on the CDF from the normal quantile's
 * Cornish–Fisher correction (a few steps), falling back to bisection if it strays.
 */
export function studentTQuantile(p: number, df: number): number {
  if (!(p > 0 && p < 1) || !(df > 0)) throw new RangeError(`studentTQuantile needs 0 < p < 1 and df > 0, got p=${p}, df=${df}`);
  const z = normalQuantile(p);
  let t = z + (z ** 3 + z) / (4 * df) + (5 * z ** 5 + 16 * z ** 3 + 3 * z) / (96 * df * df);
  for (let i = 0; i < 50; i++) {
    const f = studentTPdf(t, df);
    if (!(f > 0) || !Number.isFinite(t)) break;
    const step = (studentTCdf(t, df) - p) / f;
    t -= step;
    if (Math.abs(step) < 1e-12 * Math.max(1, Math.abs(t))) return t;
  }
  let lo = -1e4;
  let hi = 1e4;
  for (let i = 0; i < 200 && hi - lo > 1e-12; i++) {
    const mid = (lo + hi) / 2;
    if (studentTCdf(mid, df) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

export function geometricMean(values: readonly number[]): number | undefined {
  if (values.length === 0 || values.some((v) => !(v > 0))) return undefined;
  return Math.exp(values.reduce((s, v) => s + Math.log(v), 0) / values.length);
}

export interface RatioEstimate {
  /** exp(mean(log a) − mean(log b)): the ratio of the geometric means. */
  readonly ratio: number;
  /** Bounds of the confidence interval; undefined when either side has fewer than two values. */
  readonly low: number | undefined;
  readonly high: number | undefined;
}

/** Count, mean and sample variance of log values: what Welch's interval needs of each side. */
export interface LogMoments {
  readonly n: number;
  readonly mean: number;
  readonly variance: number;
}

/** Moments from running sums Σx and Σx² (how the store keeps them). */
export function momentsFromSums(n: number, sum: number, sumSq: number): LogMoments {
  const mean = sum / n;
  // Σ(x − m)² = Σx² − n·m²; clamp the rounding error that can make it slightly negative.
  const variance = n > 1 ? Math.max(0, (sumSq - n * mean * mean) / (n - 1)) : 0;
  return { n, mean, variance };
}

/**
 * Ratio a/b from the moments of ln a and ln b: d = mean(ln a) − mean(ln b),
 * se = √(s²a/na + s²b/nb), Welch–Satterthwaite degrees of freedom, interval exp(d ± t·se).
 */
export function welchFromMoments(a: LogMoments, b: LogMoments, confidence = 0.95): RatioEstimate {
  const d = a.mean - b.mean;
  const ratio = Math.exp(d);
  if (a.n < 2 || b.n < 2) return { ratio, low: undefined, high: undefined };
  const va = a.variance / a.n;
  const vb = b.variance / b.n;
  const se = Math.sqrt(va + vb);
  if (se === 0) return { ratio, low: ratio, high: ratio };
  const df = (va + vb) ** 2 / (va ** 2 / (a.n - 1) + vb ** 2 / (b.n - 1));
  const t = studentTQuantile(1 - (1 - confidence) / 2, df);
  return { ratio, low: Math.exp(d - t * se), high: Math.exp(d + t * se) };
}

/** Ratio a/b of two positive samples with a Welch confidence interval on their logarithms. */
export function welchLogRatio(a: readonly number[], b: readonly number[], confidence = 0.95): RatioEstimate {
  if (a.length === 0 || b.length === 0) throw new RangeError('welchLogRatio needs values on both sides');
  if (a.some((v) => !(v > 0)) || b.some((v) => !(v > 0))) throw new RangeError('welchLogRatio needs positive values');
  const moments = (xs: readonly number[]): LogMoments => {
    const logs = xs.map(Math.log);
    return momentsFromSums(
      logs.length,
      logs.reduce((s, x) => s + x, 0),
      logs.reduce((s, x) => s + x * x, 0),
    );
  };
  return welchFromMoments(moments(a), moments(b), confidence);
}

/**
 * How an interval was computed, from the strongest evidence to the weakest:
 * - `between-runs`: both sides have two or more runs; each run is one observation (Welch).
 * - `borrowed-run-variance`: one side has a single run; its run-to-run variation is assumed
 *   as large as the other side's (or its own trial noise, if larger).
 * - `within-run-only`: both sides have a single run; only trial-to-trial noise is known, so
 *   the interval takes the t quantile of one degree of freedom, as wide as the fewest runs
 *   that measure run-to-run variation could give.
 */
export type IntervalMethod = 'between-runs' | 'borrowed-run-variance' | 'within-run-only';

/** One side of a comparison: the log moments of its runs' values and of all its trials. */
export interface RatioSide {
  readonly runs: LogMoments;
  readonly trials: LogMoments;
}

export interface RatioInterval {
  /** Ratio of the geometric means of the runs' values. */
  readonly ratio: number;
  readonly low: number;
  readonly high: number;
  readonly method: IntervalMethod;
  /** Degrees of freedom of the t quantile. */
  readonly df: number;
  /** Standard error of the log ratio. */
  readonly logSe: number;
  /** high / ratio − 1: the interval's relative half-width (it is symmetric in log space). */
  readonly halfWidth: number;
  /**
   * Minimum detectable effect: the smallest relative difference a two-sided test at the
   * interval's level would detect with 80 % power, exp((t₀.₉₇₅ + t₀.₈₀)·se) − 1.
   */
  readonly mde: number;
}

/** A side whose trials are the only variation known: the variance of its run's mean. */
function trialVarianceOfMean(t: LogMoments): number {
  return t.n > 1 ? t.variance / t.n : 0;
}

/**
 * The ratio a/b with a 95 % interval that never claims more than the runs show (see
 * IntervalMethod). Log space: ratios are multiplicative and the interval is symmetric there.
 */
export function ratioInterval(a: RatioSide, b: RatioSide, confidence = 0.95, power = 0.8): RatioInterval {
  const d = a.runs.mean - b.runs.mean;
  let se2: number;
  let df: number;
  let method: IntervalMethod;
  if (a.runs.n >= 2 && b.runs.n >= 2) {
    const va = a.runs.variance / a.runs.n;
    const vb = b.runs.variance / b.runs.n;
    se2 = va + vb;
    const denominator = va ** 2 / (a.runs.n - 1) + vb ** 2 / (b.runs.n - 1);
    df = denominator > 0 ? se2 ** 2 / denominator : a.runs.n + b.runs.n - 2;
    method = 'between-runs';
  } else if (a.runs.n >= 2 || b.runs.n >= 2) {
    const [many, one] = a.runs.n >= 2 ? [a, b] : [b, a];
    // The single run is one draw from a run-to-run distribution we cannot see: assume it
    // spreads like the other side's runs (or at least like its own trials' mean).
    const assumed = Math.max(many.runs.variance, trialVarianceOfMean(one.trials));
    se2 = many.runs.variance / many.runs.n + assumed;
    df = many.runs.n - 1;
    method = 'borrowed-run-variance';
  } else {
    se2 = trialVarianceOfMean(a.trials) + trialVarianceOfMean(b.trials);
    df = 1;
    method = 'within-run-only';
  }
  const se = Math.sqrt(se2);
  const ratio = Math.exp(d);
  const t = studentTQuantile(1 - (1 - confidence) / 2, df);
  const tPower = studentTQuantile(power, df);
  return {
    ratio,
    low: Math.exp(d - t * se),
    high: Math.exp(d + t * se),
    method,
    df,
    logSe: se,
    halfWidth: Math.expm1(t * se),
    mde: Math.expm1((t + tPower) * se),
  };
}

/** The median of a non-empty list (undefined when empty). */
export function median(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  const s = [...values].sort((x, y) => x - y);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}
