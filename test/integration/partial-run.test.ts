// One bad benchmark never fails a run: a real agent process whose sys.syscall trials all
// come out impossible (the test-only GUESTBENCH_TEST_IMPOSSIBLE_TRIAL hook) reports every
// other benchmark, ends the run partial naming sys.syscall and why, and exits 3; the
// collector stores that, its API and report show it, and the comparison uses the rest.
import type { CompareResult, RunRecord, SampleRecord } from '@guestbench/collector';
import { AGENT_CLI, runCli, startHarness, type Harness, type ProcessResult } from '../helpers/collector-harness';
import { smokeBenchmarkIds, smokeMetricCount } from '../helpers/smoke-profile';

let h: Harness;
let agent: ProcessResult;

beforeAll(async () => {
  h = await startHarness();
  agent = await runCli(
    AGENT_CLI,
    ['run', '--collector', h.collector.grpcAddress, '--profile', 'smoke', '--platform', 'native', '--state-dir', `${h.dir}/state`],
    {
      GUESTBENCH_TEST_IMPOSSIBLE_TRIAL: 'sys.syscall',
    },
  );
}, 300_000);

afterAll(async () => {
  await h?.close();
});

async function getJson<T>(path: string): Promise<T> {
  const res = await fetch(`${h.collector.httpUrl}${path}`);
  expect(res.status).toBe(200);
  return (await res.json()) as T;
}

test('the agent says the run is partial, names the failed benchmark and why, and exits 3', () => {
  expect(agent.code).toBe(3);
  expect(agent.stdout).toMatch(/^run \S+ partial: (\d+)\/\1 samples acknowledged/m);
  expect(agent.stdout).toMatch(/^FAILED sys\.syscall: sys\.syscall: trial gave NaN for metric "call", and its retry NaN/m);
});

test('the collector stores the run as partial with its failed benchmark, and every other sample', async () => {
  const { runs } = await getJson<{ runs: RunRecord[] }>('/api/v1/runs?status=partial');
  expect(runs).toHaveLength(1);
  const run = runs[0]!;
  expect(run.failedBenchmarks).toEqual([{ benchmarkId: 'sys.syscall', reason: expect.stringMatching(/NaN/) }]);
  const { samples } = await getJson<{ samples: SampleRecord[] }>(`/api/v1/runs/${run.id}`);
  const ids = new Set(samples.map((s) => s.benchmarkId));
  expect(ids.has('sys.syscall')).toBe(false);
  for (const id of smokeBenchmarkIds()) if (id !== 'sys.syscall') expect(ids.has(id)).toBe(true);
  // every metric but sys.syscall's two, and boot.to_agent only right after a boot
  expect(samples.filter((s) => s.benchmarkId !== 'boot.to_agent')).toHaveLength(smokeMetricCount() - 2);
});

test('the comparison uses the partial run for the benchmarks it completed, and the report lists what failed', async () => {
  const cmp = await getJson<CompareResult>('/api/v1/compare?baseline=native');
  const [run] = await h.collector.store.listRuns();
  expect(cmp.baselineRunIds).toEqual([run!.id]);
  const native = cmp.groups.find((g) => g.key === 'native')!;
  expect(native.benchmarks.some((b) => b.benchmarkId === 'cpu.int32')).toBe(true);
  expect(native.benchmarks.some((b) => b.benchmarkId === 'sys.syscall')).toBe(false);
  const res = await fetch(`${h.collector.httpUrl}/report.txt`);
  const text = await res.text();
  expect(res.status).toBe(200);
  expect(text).toMatch(/partial native on \S+ \(run \S+\): failed benchmarks: sys\.syscall \(sys\.syscall: trial gave NaN/);
});
