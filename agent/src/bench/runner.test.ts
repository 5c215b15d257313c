// The runner with real benchmarks: an impossible trial is retried, then fails its benchmark
// alone; a precision target adds passes until the interval is narrow enough or says it is not.
import { parseProfile } from '../profiles/profile';
import { BENCHMARK_IDS } from './registry';
import { runSuite, type BenchmarkOutcome, type MeasuredSample } from './runner';
import { relativeHalfWidth } from './statistics';
import { parseTrialFault } from './trial-fault';

const profile = parseProfile(
  'runner-test',
  { warmupSeconds: 0.01, trialSeconds: 0.01, minTrials: 3, maxTrials: 4, rsdThreshold: 0.5, budgetSeconds: 0.5, benchmarks: ['sys.clock', 'cpu.int32'] },
  BENCHMARK_IDS,
);

function samplesOf(outcomes: readonly BenchmarkOutcome[], id: string): readonly MeasuredSample[] {
  const o = outcomes.find((x) => x.benchmarkId === id);
  if (o === undefined || !o.ok) throw new Error(`${id} did not measure: ${o === undefined ? 'absent' : o.error.message}`);
  return o.samples;
}

describe('an impossible trial', () => {
  test('is retried once, and the samples say so', async () => {
    const outcomes = await runSuite({ profile, fault: parseTrialFault('sys.clock:1', BENCHMARK_IDS) });
    const clock = samplesOf(outcomes, 'sys.clock');
    expect(clock[0]?.flags).toContain('trial-retried');
    for (const s of clock) for (const t of s.trials) expect(Number.isFinite(t) && t >= 0).toBe(true);
    expect(samplesOf(outcomes, 'cpu.int32')[0]?.flags).not.toContain('trial-retried');
  });

  test('that comes again fails that benchmark only, naming the value; the others measure', async () => {
    const outcomes = await runSuite({ profile, fault: parseTrialFault('sys.clock', BENCHMARK_IDS) });
    const clock = outcomes.find((o) => o.benchmarkId === 'sys.clock');
    expect(clock?.ok).toBe(false);
    if (clock !== undefined && !clock.ok) expect(clock.error.message).toMatch(/^sys\.clock: trial gave NaN for metric "\w+", and its retry NaN/);
    expect(samplesOf(outcomes, 'cpu.int32').length).toBeGreaterThan(0);
  });

  test('the hook refuses a malformed or unknown benchmark', () => {
    expect(() => parseTrialFault('sys.nope', BENCHMARK_IDS)).toThrow('unknown benchmark "sys.nope"');
    expect(() => parseTrialFault('sys.clock:0', BENCHMARK_IDS)).toThrow('COUNT must be at least 1');
    expect(() => parseTrialFault('clock', BENCHMARK_IDS)).toThrow('BENCHMARK or BENCHMARK:COUNT');
    expect(parseTrialFault('', BENCHMARK_IDS)).toBeUndefined();
  });
});

describe('a precision target', () => {
  const one = { ...profile, benchmarks: ['cpu.int32'] };

  test('that cannot be met within the budget gives more trials than one pass, flagged', async () => {
    const plain = samplesOf(await runSuite({ profile: one }), 'cpu.int32')[0]!;
    const events: number[] = [];
    const outcomes = await runSuite({
      profile: one,
      precision: { halfWidth: 1e-9, budgetSeconds: 0.3 },
      onEvent: (e) => {
        if (e.type === 'benchmark-start') events.push(e.pass ?? 1);
      },
    });
    const s = samplesOf(outcomes, 'cpu.int32')[0]!;
    expect(s.flags).toContain('precision-not-reached');
    expect(events.length).toBeGreaterThan(1);
    expect(events.slice(0, 2)).toEqual([1, 2]);
    expect(s.trials.length).toBeGreaterThan(plain.trials.length);
    expect(s.halfWidth).toBeCloseTo(relativeHalfWidth(s.trials), 12);
    expect(outcomes).toHaveLength(1);
  });

  test('that one pass meets gives one pass and no flag', async () => {
    // A target any finite interval meets (a real one could be missed on a busy machine).
    const outcomes = await runSuite({ profile: one, precision: { halfWidth: 1e9, budgetSeconds: 10 } });
    const s = samplesOf(outcomes, 'cpu.int32')[0]!;
    expect(s.flags).not.toContain('precision-not-reached');
    expect(s.halfWidth).toBeLessThanOrEqual(1e9);
    expect(s.trials.length).toBeLessThanOrEqual(profile.maxTrials);
  });
});
