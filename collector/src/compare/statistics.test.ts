import { geometricMean, incompleteBeta, median, ratioInterval, studentTCdf, studentTQuantile, welchLogRatio } from './statistics';

describe('Student t distribution', () => {
  test.each([
    // two-sided 95% critical values from standard tables
    [1, 12.706],
    [2, 4.303],
    [4, 2.776],
    [10, 2.228],
    [30, 2.042],
    [1000, 1.962],
  ])('97.5%% quantile with %d degrees of freedom is %f', (df, expected) => {
    expect(studentTQuantile(0.975, df)).toBeCloseTo(expected, 2);
  });

  test('the CDF is symmetric and 0.5 at zero', () => {
    expect(studentTCdf(0, 5)).toBeCloseTo(0.5, 12);
    expect(studentTCdf(1.3, 7) + studentTCdf(-1.3, 7)).toBeCloseTo(1, 12);
  });

  test('incomplete beta matches closed forms', () => {
    // I_x(1, 1) = x; I_x(2, 1) = x²
    expect(incompleteBeta(0.3, 1, 1)).toBeCloseTo(0.3, 12);
    expect(incompleteBeta(0.3, 2, 1)).toBeCloseTo(0.09, 12);
  });

  test('refuses impossible probabilities', () => {
    expect(() => studentTQuantile(1, 3)).toThrow(RangeError);
  });
});

describe('geometric mean', () => {
  test('of known values', () => {
    expect(geometricMean([1, 4])).toBeCloseTo(2, 12);
    expect(geometricMean([0.5, 2, 1])).toBeCloseTo(1, 12);
  });
  test('is undefined for empty input or non-positive values', () => {
    expect(geometricMean([])).toBeUndefined();
    expect(geometricMean([1, 0])).toBeUndefined();
  });
});

describe('Welch interval on log values', () => {
  test('ratio of the geometric means', () => {
    const est = welchLogRatio([2, 8], [1, 1]);
    expect(est.ratio).toBeCloseTo(4, 12);
  });

  test('matches a hand computation', () => {
    // ln a = [0, ln 2, ln 4]: mean ln2, var (ln2)²; ln b = [0, 0, ln 2 ... ] use b constant → se from a only
    const a = [1, 2, 4];
    const b = [1, 1, 1];
    const est = welchLogRatio(a, b);
    const d = Math.log(2);
    const se = Math.sqrt(Math.log(2) ** 2 / 3);
    // df = (va)^2 / (va^2 / 2) = 2 when b has no variance
    const t = 4.302652729911275;
    expect(est.ratio).toBeCloseTo(2, 12);
    expect(est.low).toBeCloseTo(Math.exp(d - t * se), 6);
    expect(est.high).toBeCloseTo(Math.exp(d + t * se), 6);
  });

  test('the interval of two samples of one distribution covers 1.0', () => {
    const a = [100, 102, 98, 101, 99];
    const b = [101, 99, 100, 98, 102];
    const est = welchLogRatio(a, b);
    expect(est.low!).toBeLessThan(1);
    expect(est.high!).toBeGreaterThan(1);
  });

  test('a clear difference excludes 1.0', () => {
    const est = welchLogRatio([50, 51, 49, 50], [100, 101, 99, 100]);
    expect(est.ratio).toBeCloseTo(0.5, 2);
    expect(est.high!).toBeLessThan(1);
  });

  test('no interval from a single value', () => {
    const est = welchLogRatio([2], [1, 1.1]);
    expect(est.low).toBeUndefined();
    expect(est.high).toBeUndefined();
  });

  test('refuses non-positive values', () => {
    expect(() => welchLogRatio([0, 1], [1, 1])).toThrow(RangeError);
  });
});

describe('ratioInterval', () => {
  const moments = (xs: number[]): { n: number; mean: number; variance: number } => {
    const logs = xs.map(Math.log);
    const mean = logs.reduce((a, b) => a + b, 0) / logs.length;
    const variance = logs.length > 1 ? logs.reduce((s, v) => s + (v - mean) ** 2, 0) / (logs.length - 1) : 0;
    return { n: logs.length, mean, variance };
  };
  const sideOf = (runs: number[], trials: number[]) => ({ runs: moments(runs), trials: moments(trials) });

  test('two or more runs a side: Welch between runs, as computed by hand', () => {
    const a = sideOf([100, 104, 98], [100, 104, 98]);
    const b = sideOf([90, 95, 93], [90, 95, 93]);
    const est = ratioInterval(a, b);
    const d = a.runs.mean - b.runs.mean;
    const se = Math.sqrt(a.runs.variance / 3 + b.runs.variance / 3);
    expect(est.method).toBe('between-runs');
    expect(est.ratio).toBeCloseTo(Math.exp(d), 12);
    expect(est.high).toBeCloseTo(Math.exp(d + studentTQuantile(0.975, est.df) * se), 12);
    expect(est.halfWidth).toBeCloseTo(est.high / est.ratio - 1, 12);
    // The minimum detectable effect adds the power quantile: always beyond the half-width.
    expect(est.mde).toBeGreaterThan(est.halfWidth);
    expect(est.df).toBeGreaterThan(3.5);
    expect(est.df).toBeLessThanOrEqual(4);
  });

  test('a group with one run never looks more certain than the same group with two', () => {
    const baseline = sideOf([100, 103], [99, 100, 101, 102, 103, 104]);
    // The one run's trials agree closely: trial noise alone would give a narrow interval.
    const twoRuns = sideOf([95, 99], [94.9, 95, 95.1, 98.9, 99, 99.1]);
    const oneRun = sideOf([95], [94.9, 95, 95.1]);
    const two = ratioInterval(twoRuns, baseline);
    const one = ratioInterval(oneRun, baseline);
    expect(one.method).toBe('borrowed-run-variance');
    expect(one.halfWidth).toBeGreaterThan(two.halfWidth);
    expect(one.mde).toBeGreaterThan(two.mde);
    // One run on each side: trial noise only, at one degree of freedom.
    const both = ratioInterval(oneRun, sideOf([100], [99, 100, 101]));
    expect(both.method).toBe('within-run-only');
    expect(both.df).toBe(1);
    const se = Math.sqrt(moments([94.9, 95, 95.1]).variance / 3 + moments([99, 100, 101]).variance / 3);
    expect(both.halfWidth).toBeCloseTo(Math.expm1(12.706204736 * se), 6);
  });

  test('runs that vary a lot give a wide interval; runs that agree a narrow one', () => {
    const tight = ratioInterval(sideOf([100, 101, 100.5], [100]), sideOf([100.2, 100.8, 100.1], [100]));
    const loose = ratioInterval(sideOf([60, 140, 100], [100]), sideOf([70, 130, 100], [100]));
    expect(tight.halfWidth).toBeLessThan(0.02);
    expect(loose.halfWidth).toBeGreaterThan(0.3);
  });
});

describe('median', () => {
  test('odd, even and empty', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeUndefined();
  });
});
