import { BENCHMARK_IDS, getBenchmark, listBenchmarks } from '../bench/registry';
import { isProfileError, loadProfile, parseProfile, PROFILE_NAMES } from './profile';
import builtinProfiles from './profiles.json';

const valid = {
  warmupSeconds: 0.1,
  trialSeconds: 0.1,
  minTrials: 3,
  maxTrials: 5,
  rsdThreshold: 0.05,
  budgetSeconds: 2,
  benchmarks: ['cpu.int32'],
  settings: {},
};

function messageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err: unknown) {
    expect(isProfileError(err)).toBe(true);
    return (err as Error).message;
  }
  throw new Error('expected a ProfileError');
}

test('profiles.json defines exactly the profile names the collector accepts in jobs, in order', () => {
  expect(Object.keys(builtinProfiles)).toEqual([...PROFILE_NAMES]);
});

test('every built-in profile parses against the registry', () => {
  for (const name of PROFILE_NAMES) {
    const p = loadProfile(name, listBenchmarks());
    expect(p.minTrials).toBeGreaterThanOrEqual(3);
    expect(p.benchmarks.length).toBeGreaterThan(0);
  }
});

test.each([
  [{ ...valid, minTrials: 2 }, /"minTrials" must be a whole number ≥ 3, got 2/],
  [{ ...valid, maxTrials: 2 }, /"maxTrials" must be a whole number ≥ 3/],
  [{ ...valid, rsdThreshold: 3 }, /"rsdThreshold" is a fraction/],
  [{ ...valid, trialSeconds: -1 }, /"trialSeconds" must be a finite number above 0, got -1/],
  [{ ...valid, benchmarks: ['cpu.nope'] }, /unknown benchmark "cpu.nope"/],
  [{ ...valid, settings: { 'cpu.nope': {} } }, /settings for unknown benchmark "cpu.nope"/],
  [{ ...valid, trialSecs: 1 }, /unknown key "trialSecs"/],
  [{ ...valid, precision: 5 }, /"precision" is a fraction \(0.05 = ±5%\), got 5/],
  [{ ...valid, precision: 0.05, precisionBudgetSeconds: 0 }, /"precisionBudgetSeconds" must be a finite number above 0, got 0/],
])('a bad profile value is refused with a clear message (%#)', (raw, message) => {
  expect(messageOf(() => parseProfile('custom', raw, BENCHMARK_IDS))).toMatch(message);
});

test('a profile may ask for a precision, with a budget that defaults to 600 s', () => {
  expect(parseProfile('custom', { ...valid, precision: 0.05 }, BENCHMARK_IDS)).toMatchObject({ precision: 0.05, precisionBudgetSeconds: 600 });
  expect(parseProfile('custom', valid, BENCHMARK_IDS).precision).toBeUndefined();
});

test('an unknown profile name lists the known ones', () => {
  expect(messageOf(() => loadProfile('fast', listBenchmarks()))).toMatch(/unknown profile "fast" \(known: smoke, quick/);
});

test('a bad benchmark setting is refused by the benchmark with the allowed range', () => {
  const p = parseProfile('custom', { ...valid, benchmarks: ['mem.bandwidth'], settings: { 'mem.bandwidth': { bufferMiB: -5 } } }, BENCHMARK_IDS);
  expect(messageOf(() => getBenchmark('mem.bandwidth').parseSettings(p.settings['mem.bandwidth'] ?? {}))).toMatch(
    /mem\.bandwidth: setting "bufferMiB" must be/,
  );
});
