// Every registered benchmark must produce samples the collector accepts.
import { BENCHMARK_ID_PATTERN, MAX_UNIT_LENGTH, METRIC_PATTERN } from '@guestbench/proto';
import { loadProfile, PROFILE_NAMES } from '../profiles/profile';
import type { ProfileName } from '../profiles/profile-names';
import builtinProfiles from '../profiles/profiles.json';
import { checkProfileSettings, listBenchmarks } from './registry';

test.each(listBenchmarks().map((b) => [b.id, b] as const))('%s has a valid id, metrics and exactly one primary metric', (id, b) => {
  expect(id).toMatch(BENCHMARK_ID_PATTERN);
  expect(b.metrics.length).toBeGreaterThan(0);
  expect(b.metrics.filter((m) => m.primary)).toHaveLength(1);
  expect(new Set(b.metrics.map((m) => m.name)).size).toBe(b.metrics.length);
  for (const m of b.metrics) {
    expect(m.name).toMatch(METRIC_PATTERN);
    expect(m.unit.length).toBeGreaterThan(0);
    expect(m.unit.length).toBeLessThanOrEqual(MAX_UNIT_LENGTH);
    expect(['higher', 'lower']).toContain(m.direction);
  }
});

test.each(listBenchmarks().map((b) => [b.id, b] as const))('%s declares at least one built-in profile, each one that exists', (_id, b) => {
  // A benchmark in no profile would never run: `bench` and `run` only run profiles.
  expect(b.profiles.length).toBeGreaterThan(0);
  for (const p of b.profiles) expect(PROFILE_NAMES).toContain(p);
});

test('each built-in profile runs the benchmarks that declare it, in registry order, with settings the benchmarks accept', () => {
  for (const name of PROFILE_NAMES) {
    const profile = loadProfile(name, listBenchmarks());
    expect(profile.benchmarks).toEqual(
      listBenchmarks()
        .filter((b) => b.profiles.includes(name as ProfileName))
        .map((b) => b.id),
    );
    expect(() => checkProfileSettings(profile)).not.toThrow();
  }
  // profiles.json holds exactly the built-in profiles, no more.
  expect(Object.keys(builtinProfiles)).toEqual([...PROFILE_NAMES]);
});
