import { geometricMean, incompleteBeta, studentTCdf, studentTQuantile, welchLogRatio } from './statistics';

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
    const se = Math.sqrt((Math.log(2) ** 2) / 3);
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
