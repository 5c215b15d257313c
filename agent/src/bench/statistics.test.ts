import { hasOutlier, mean, relativeHalfWidth, relativeStandardDeviation, shouldStop, standardDeviation, tQuantile975 } from './statistics';
import { parseProcStat, stealFraction } from './steal-time';

const rule = { minTrials: 3, maxTrials: 6, rsdThreshold: 0.05, budgetSeconds: 10 };

describe('trial statistics', () => {
  test('mean, sample standard deviation and RSD of known values', () => {
    expect(mean([2, 4, 6])).toBe(4);
    expect(standardDeviation([2, 4, 6])).toBeCloseTo(2, 12);
    expect(relativeStandardDeviation([2, 4, 6])).toBeCloseTo(0.5, 12);
    expect(standardDeviation([5])).toBe(0);
  });

  test('an outlier is judged against the other trials', () => {
    expect(hasOutlier([100, 101, 99, 100, 100.5, 150])).toBe(true);
    expect(hasOutlier([100, 101, 99, 100, 100.5, 102])).toBe(false);
  });
});

describe('stop rule', () => {
  test('never stops before the minimum number of trials', () => {
    expect(shouldStop([1, 1], 100, rule)).toBeUndefined();
  });
  test('stops when stable', () => {
    expect(shouldStop([100, 101, 99], 0.1, rule)).toBe('stable');
  });
  test('goes on while the RSD is above the threshold, within the caps', () => {
    expect(shouldStop([100, 130, 80], 0.1, rule)).toBeUndefined();
    expect(shouldStop([100, 130, 80], 11, rule)).toBe('budget');
    expect(shouldStop([100, 130, 80, 120, 90, 110], 0.1, rule)).toBe('max-trials');
  });
  test('goes on while a trial is an outlier even when the RSD is low', () => {
    const values = [100, 100.1, 99.9, 100, 100.05, 99.95, 100.02, 99.98, 100.01, 99.99, 103];
    expect(relativeStandardDeviation(values)).toBeLessThan(0.05);
    expect(shouldStop(values, 0.1, { ...rule, maxTrials: 100 })).toBeUndefined();
  });
});

describe('steal time from /proc/stat', () => {
  const before = parseProcStat('cpu  100 0 50 800 10 0 0 40 0 0\ncpu0 1 2 3 4 5 6 7 8 9 10\n');
  const after = parseProcStat('cpu  150 0 70 900 10 0 0 60 0 0\n');
  test('parses the aggregate line', () => {
    expect(before).toEqual({ total: 1000, steal: 40 });
  });
  test('steal share between two readings', () => {
    // total grew by 190, steal by 20
    expect(stealFraction(before, after)).toBeCloseTo(20 / 190, 12);
    expect(stealFraction(undefined, after)).toBe(0);
  });
  test('no cpu line is no reading', () => {
    expect(parseProcStat('intr 1 2 3')).toBeUndefined();
  });
});

describe('interval of the mean', () => {
  test('Student t quantiles at known points, and the relative half-width of known values', () => {
    expect(tQuantile975(1)).toBeCloseTo(12.706, 3);
    expect(tQuantile975(30)).toBeCloseTo(2.042, 3);
    expect(tQuantile975(60)).toBeCloseTo(2.0003, 3);
    expect(tQuantile975(1000)).toBeCloseTo(1.9623, 3);
    // mean 4, sd 2, n 3: 4.303 · 2 / √3 / 4
    expect(relativeHalfWidth([2, 4, 6])).toBeCloseTo((4.303 * 2) / Math.sqrt(3) / 4, 6);
    expect(relativeHalfWidth([5])).toBe(Number.POSITIVE_INFINITY);
  });
});
