import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BENCHMARK_IDS, checkProfileSettings, getBenchmark, listBenchmarks } from '../bench/registry';
import { runBenchmark } from '../bench/runner';
import { isProfileError, loadProfile } from './profile';
import { applySelection, NO_SELECTION, parseOverride, type Selection } from './selection';

const quick = loadProfile('quick', listBenchmarks());

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (err: unknown) {
    expect(isProfileError(err)).toBe(true);
    return (err as Error).message;
  }
  throw new Error('expected a ProfileError');
}

function select(s: Partial<Selection>): ReturnType<typeof applySelection> {
  return applySelection(quick, { ...NO_SELECTION, ...s }, BENCHMARK_IDS);
}

test('no selection leaves the profile as it is, its name included', () => {
  expect(applySelection(quick, NO_SELECTION, BENCHMARK_IDS)).toEqual({ ...quick, parameterOverrides: {} });
});

test('--only takes categories and ids in suite order; --skip removes; the name records both', () => {
  const p = select({ only: ['disk.seq_read', 'cpu'], skip: ['cpu.math'] });
  expect(p.benchmarks).toEqual(BENCHMARK_IDS.filter((id) => (id.startsWith('cpu.') && id !== 'cpu.math') || id === 'disk.seq_read'));
  expect(p.name).toBe('quick only=disk.seq_read,cpu skip=cpu.math');
  expect(select({ skip: ['web'] }).benchmarks.some((id) => id.startsWith('web.'))).toBe(false);
});

test('--set overrides one setting, keeps the others, is checked by the benchmark and recorded in the name', () => {
  const p = select({ only: ['disk'], set: [parseOverride('disk.seq_read.fileMiB=4096')] });
  expect(p.settings['disk.seq_read']).toEqual({ ...quick.settings['disk.seq_read'], fileMiB: 4096 });
  expect(p.settings['disk.seq_write']).toEqual(quick.settings['disk.seq_write']);
  expect(p.parameterOverrides).toEqual({ 'disk.seq_read': { fileMiB: '4096' } });
  expect(p.name).toBe('quick only=disk set=disk.seq_read.fileMiB=4096');
  expect(() => checkProfileSettings(p)).not.toThrow();
  const bad = select({ set: [parseOverride('disk.seq_read.fileMiB=-1')] });
  expect(refusal(() => checkProfileSettings(bad))).toMatch(/disk\.seq_read: setting "fileMiB" must be a whole number from/);
  const unknownKey = select({ set: [parseOverride('disk.seq_read.sizeMiB=4')] });
  expect(refusal(() => checkProfileSettings(unknownKey))).toMatch(/disk\.seq_read: unknown setting "sizeMiB" \(known: .*fileMiB/);
});

test.each([
  [{ only: ['gpu'] }, /--only: no benchmark or category "gpu" \(categories: cpu, mem/],
  [{ skip: ['cpu.int128'] }, /--skip: no benchmark or category "cpu.int128"/],
  [{ only: ['cpu'], skip: ['cpu'] }, /leave no benchmark of profile "quick" to run/],
  [{ set: [{ benchmark: 'cpu.nope', key: 'x', value: 1 }] }, /--set cpu.nope.x: no benchmark "cpu.nope"/],
  [{ only: ['cpu'], set: [{ benchmark: 'disk.seq_read', key: 'fileMiB', value: 1 }] }, /disk.seq_read does not run in this selection/],
])('refuses %j', (s, message) => {
  expect(refusal(() => select(s))).toMatch(message);
});

test("an overridden setting shows in the samples' parameters, so the comparison keeps it apart", async () => {
  // "note" is no parameter of mem.latency's own: an override still marks its samples.
  const profile = {
    ...loadProfile('smoke', listBenchmarks()),
    benchmarks: ['mem.latency'],
    parameterOverrides: { 'mem.latency': { workingSetMiB: '8', note: 'x' } },
  };
  const samples = await runBenchmark(getBenchmark('mem.latency'), {
    profile: { ...profile, settings: { ...profile.settings, 'mem.latency': { workingSetMiB: 8 } } },
  });
  for (const s of samples) expect(s.parameters).toMatchObject({ workingSetMiB: '8', note: 'x' });
});

test('a profile file is read, named after the file, and refused with the key that is wrong', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gb-profile-'));
  try {
    const file = path.join(dir, 'mine.json');
    const good = {
      warmupSeconds: 0.1,
      trialSeconds: 0.1,
      minTrials: 3,
      maxTrials: 4,
      rsdThreshold: 0.1,
      budgetSeconds: 1,
      settings: { 'disk.seq_read': { fileMiB: 8 } },
    };
    fs.writeFileSync(file, JSON.stringify(good));
    const p = loadProfile(file, listBenchmarks());
    expect(p.name).toBe('file:mine');
    expect(p.benchmarks).toEqual(BENCHMARK_IDS);
    fs.writeFileSync(file, JSON.stringify({ ...good, maxTrials: 'many' }));
    expect(refusal(() => loadProfile(file, listBenchmarks()))).toBe(`profile file ${file}: "maxTrials" must be a whole number ≥ 3, got "many"`);
    fs.writeFileSync(file, '{ not json');
    expect(refusal(() => loadProfile(file, listBenchmarks()))).toMatch(/^profile file .*mine\.json: not JSON/);
    expect(refusal(() => loadProfile(path.join(dir, 'absent.json'), listBenchmarks()))).toMatch(/^--profile: cannot read .*absent\.json/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
