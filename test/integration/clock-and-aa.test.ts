// A real agent whose heartbeats carry its monotonic clock, one run as it is and one with
// the clock made to run 5 % fast (GUESTBENCH_TEST_CLOCK_RATE, a test-only hook): the
// collector measures both and flags the fast one clock-drift. Then the A/A check over HTTP
// and the command line, on the same two native groups.
import type { AaVerdict, CompareResult, RunRecord } from '@guestbench/collector';
import { AGENT_CLI, COLLECTOR_CLI, runCli, startHarness, type Harness } from '../helpers/collector-harness';

let h: Harness;
let steady: RunRecord;
let fast: RunRecord;

beforeAll(async () => {
  // Beats every 300 ms, so that even a quick smoke run gives the clock check a span to judge;
  // on a busy machine a beat can come late, which must not make the run lost here.
  h = await startHarness({ heartbeatIntervalMs: 300, lostAfterMs: 120_000 });
  const base = ['run', '--collector', h.collector.grpcAddress, '--profile', 'smoke', '--platform', 'native', '--state-dir', `${h.dir}/agent`];
  // A benchmark may fail on a loaded machine (the run then ends failed, exit 1): the clock
  // check is about the heartbeats, which a failed run sends all the same.
  for (const [label, env] of [
    ['steady', {}],
    ['fast', { GUESTBENCH_TEST_CLOCK_RATE: '1.05' }],
  ] as const) {
    const res = await runCli(AGENT_CLI, [...base, '--label', label], env);
    if (res.code !== 0)
      process.stderr.write(
        `agent run ${label} exited ${res.code}: ${res.stderr
          .split('\n')
          .filter((l) => /"level":(50|60)/.test(l))
          .join('\n')
          .slice(0, 2000)}\n`,
      );
    expect([label, res.code === 0 || res.code === 1]).toEqual([label, true]);
  }
  const runs = await h.collector.store.listRuns();
  steady = runs.find((r) => r.label === 'steady')!;
  fast = runs.find((r) => r.label === 'fast')!;
}, 600_000);

afterAll(async () => {
  await h?.close();
});

async function getJson<T>(path: string): Promise<{ status: number; body: T }> {
  const res = await fetch(`${h.collector.httpUrl}${path}`);
  return { status: res.status, body: (await res.json()) as T };
}

test("the collector measures each run's guest clock against its own and flags the one 5 % fast", () => {
  expect(steady.clock.hostSpanMs).toBeGreaterThan(1000);
  expect(Math.abs(steady.clock.rateDifference!)).toBeLessThan(0.005);
  expect(steady.clock.drift).toBe(false);
  expect(fast.clock.hostSpanMs).toBeGreaterThan(1000);
  expect(fast.clock.rateDifference!).toBeGreaterThan(0.04);
  expect(fast.clock.rateDifference!).toBeLessThan(0.06);
  expect(fast.clock.drift).toBe(true);
  process.stderr.write(
    `clock check: steady ${(steady.clock.rateDifference! * 100).toFixed(3)} % over ${steady.clock.hostSpanMs} ms; fast ${(fast.clock.rateDifference! * 100).toFixed(3)} % over ${fast.clock.hostSpanMs} ms\n`,
  );
});

test('the run and the comparison show the drift, and the detected platform beside the declared one', async () => {
  const run = await getJson<{ run: RunRecord }>(`/api/v1/runs/${fast.id}`);
  expect(run.body.run.clock.drift).toBe(true);
  const cmp = await getJson<CompareResult>('/api/v1/compare?baseline=native/steady');
  expect(cmp.status).toBe(200);
  const fastGroup = cmp.body.groups.find((g) => g.key === 'native/fast')!;
  expect(fastGroup.notes.map((n) => n.kind)).toContain('clock-drift');
  expect(fastGroup.runs[0]).toMatchObject({ id: fast.id, declaredPlatform: 'native' });
  expect(fastGroup.runs[0]!.detectedPlatform).not.toBe('');
  const text = await fetch(`${h.collector.httpUrl}/report.txt?baseline=native/steady`).then((r) => r.text());
  expect(text).toMatch(/clock-drift/);
});

test('the A/A check over HTTP gives a verdict, and refuses what is not an A/A pair', async () => {
  const ok = await getJson<{ verdict: AaVerdict; comparison: CompareResult }>('/api/v1/compare?aa=native/steady,native/fast');
  expect(ok.status).toBe(200);
  // One run a side: run-to-run variation is unmeasured, so no verdict but "too noisy", with what to run.
  expect(ok.body.verdict.verdict).toBe('too-noisy');
  expect(ok.body.verdict.summary).toMatch(/run about \d+ a side/);
  expect(ok.body.comparison.baseline).toBe('native/steady');
  const cases: [string, number, RegExp][] = [
    ['aa=native/steady', 400, /two groups of one platform/],
    ['aa=native/steady,kvm/x', 400, /same platform/],
    ['aa=native/steady,native/nothing', 404, /native\/nothing has no finished runs/],
    ['aa=native/steady,native/fast&baseline=native', 400, /baseline does not apply/],
    ['aa=native/steady,Bad!', 400, /aa: expected "platform" or "platform\/label"/],
  ];
  for (const [query, status, message] of cases) {
    const res = await getJson<{ error: string }>(`/api/v1/compare?${query}`);
    expect([query, res.status]).toEqual([query, status]);
    expect(res.body.error).toMatch(message);
  }
});

test('guestbench-collector compare --aa prints the verdict plainly; its exit code says which', async () => {
  const res = await runCli(COLLECTOR_CLI, ['compare', '--aa', 'native/steady', 'native/fast', '--url', h.collector.httpUrl]);
  expect(res.stdout).toMatch(/\nA\/A check: too noisy to tell: native\/fast \/ native\/steady overall/);
  expect(res.code).toBe(3);
  const bad = await runCli(COLLECTOR_CLI, ['compare', '--aa', 'native/steady', '--url', h.collector.httpUrl]);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toMatch(/give two groups of one platform/);
});
