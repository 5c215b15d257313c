// A real agent process streams a smoke run over gRPC to a real collector; then what was
// stored, what compare returns, and how bad requests are refused.
import { credentials, Metadata, status as GrpcStatus, type ServiceError } from '@grpc/grpc-js';
import { AgentServiceClient, Direction, QueryServiceClient, type Sample } from '@guestbench/proto';
import type { CompareResult, RunRecord, SampleRecord } from '@guestbench/collector';
import { AGENT_CLI, runCli, startHarness, type Harness } from '../helpers/collector-harness';
import { smokeBenchmarkIds, smokeMetricCount } from '../helpers/smoke-profile';

let h: Harness;
let firstRun: RunRecord;

beforeAll(async () => {
  h = await startHarness();
  const first = await runCli(AGENT_CLI, ['run', '--collector', h.collector.grpcAddress, '--profile', 'smoke', '--platform', 'native', '--json']);
  expect(first.stderr.split('\n').filter((l) => /"level":(50|60)/.test(l))).toEqual([]);
  expect(first.code).toBe(0);
  const second = await runCli(AGENT_CLI, [
    'run',
    '--collector',
    h.collector.grpcAddress,
    '--profile',
    'smoke',
    '--platform',
    'native',
    '--label',
    'repeat',
    '--json',
  ]);
  expect(second.code).toBe(0);
  const runs = await h.collector.store.listRuns();
  firstRun = runs.find((r) => r.label === '')!;
}, 180_000);

afterAll(async () => {
  await h?.close();
});

async function getJson<T>(path: string): Promise<{ status: number; body: T }> {
  const res = await fetch(`${h.collector.httpUrl}${path}`);
  return { status: res.status, body: (await res.json()) as T };
}

function unary<Req, Res>(client: object, method: string, req: Req): Promise<Res> {
  return new Promise((resolve, reject) => {
    (client as Record<string, (r: Req, m: Metadata, cb: (e: ServiceError | null, res: Res) => void) => void>)[method]!.call(
      client,
      req,
      new Metadata(),
      (err, res) => (err ? reject(err) : resolve(res)),
    );
  });
}

test('each run is stored complete, with every trial, from the agent that sent it', async () => {
  const runs = await h.collector.store.listRuns();
  expect(runs).toHaveLength(2);
  for (const run of runs) {
    expect(run.status).toBe('completed');
    expect(run.platform).toBe('native');
    expect(run.profile).toBe('smoke');
    expect(run.inventory.cpus).toBeGreaterThan(0);
    expect(run.evidence.length).toBeGreaterThan(0);
    const samples = await h.collector.store.getSamples([run.id]);
    expect([...new Set(samples.map((s) => s.benchmarkId))].sort()).toEqual([...smokeBenchmarkIds()].sort());
    expect(samples).toHaveLength(smokeMetricCount());
    for (const s of samples) {
      expect(s.trials.length).toBeGreaterThanOrEqual(3);
      expect(s.trialCount).toBe(s.trials.length);
      expect(s.value).toBeGreaterThan(0);
      expect(s.value).toBeCloseTo(s.trials.reduce((a, b) => a + b, 0) / s.trials.length, 6);
      expect(s.stealFraction).toBeGreaterThanOrEqual(0);
    }
  }
});

test('the HTTP API lists runs, shows one with its samples, and compares against native', async () => {
  const list = await getJson<{ runs: RunRecord[] }>('/api/v1/runs?platform=native');
  expect(list.status).toBe(200);
  expect(list.body.runs).toHaveLength(2);
  const one = await getJson<{ run: RunRecord; samples: SampleRecord[] }>(`/api/v1/runs/${firstRun.id}`);
  expect(one.status).toBe(200);
  expect(one.body.run.id).toBe(firstRun.id);
  expect(one.body.samples).toHaveLength(smokeMetricCount());
  const cmp = await getJson<CompareResult>('/api/v1/compare?baseline=native');
  expect(cmp.status).toBe(200);
  expect(cmp.body.groups.map((g) => g.key)).toEqual(['native', 'native/repeat']);
  const repeat = cmp.body.groups[1]!;
  expect(repeat.benchmarks).toHaveLength(smokeMetricCount());
  for (const b of repeat.benchmarks) {
    expect(b.flags).not.toContain('no-baseline');
    expect(b.relative).toBeGreaterThan(0);
    expect(b.ciLow).toBeLessThanOrEqual(b.relative!);
    expect(b.ciHigh).toBeGreaterThanOrEqual(b.relative!);
  }
  expect(repeat.overallGeomean).toBeGreaterThan(0);
  expect(repeat.categories.map((c) => c.category).sort()).toEqual([...new Set(smokeBenchmarkIds().map((id) => id.split('.')[0]))].sort());
});

test('the gRPC query service answers the same comparison', async () => {
  const client = new QueryServiceClient(h.collector.grpcAddress, credentials.createInsecure());
  try {
    const res = await unary<object, { groups: { platform: string; label: string; benchmarks: unknown[] }[] }>(client, 'compare', {
      baseline: 'native',
      groups: [],
    });
    expect(res.groups.map((g) => `${g.platform}/${g.label}`)).toEqual(['native/', 'native/repeat']);
    const run = await unary<object, { run: { id: string }; samples: unknown[] }>(client, 'getRun', { runId: firstRun.id });
    expect(run.run.id).toBe(firstRun.id);
    expect(run.samples).toHaveLength(smokeMetricCount());
  } finally {
    client.close();
  }
});

test('the collector logs enrollment, run start and run end with agent and run ids', () => {
  const events = (name: string) => h.logs.filter((l) => l['event'] === name);
  // Each run enrolls at the collector check before it starts, and again before each net.*
  // benchmark to learn the sink's address (it may have moved with a restart): at least once a run.
  expect(events('agent-enrolled').length).toBeGreaterThanOrEqual(2);
  expect(events('agent-enrolled')[0]!['agentId']).toBe(firstRun.agentId);
  expect(events('run-started').map((l) => l['runId'])).toContain(firstRun.id);
  const ended = events('run-ended').find((l) => l['runId'] === firstRun.id)!;
  expect(ended['agentId']).toBe(firstRun.agentId);
  expect(ended['status']).toBe('completed');
});

describe('bad requests get clear errors and store nothing', () => {
  test('an unknown run id is 404 over HTTP and NOT_FOUND over gRPC', async () => {
    const res = await getJson<{ error: string }>('/api/v1/runs/no-such-run');
    expect(res.status).toBe(404);
    expect(res.body.error).toMatch(/no-such-run does not exist/);
    const client = new QueryServiceClient(h.collector.grpcAddress, credentials.createInsecure());
    try {
      await expect(unary(client, 'getRun', { runId: 'no-such-run' })).rejects.toMatchObject({ code: GrpcStatus.NOT_FOUND });
    } finally {
      client.close();
    }
  });

  test.each([
    ['/api/v1/compare?baseline=%20bad%20', /baseline: expected "platform" or "platform\/label"/],
    ['/api/v1/compare?basline=native', /unknown query parameter "basline"/],
    ['/api/v1/runs?limit=abc', /limit: a whole number/],
    ['/api/v1/runs?status=finished', /status: one or more of running, completed/],
  ])('a malformed query %s is 400 naming the parameter', async (path, message) => {
    const res = await getJson<{ error: string }>(path);
    expect(res.status).toBe(400);
    expect(res.body.error).toMatch(message);
  });

  test('a sample with NaN is INVALID_ARGUMENT naming the field, and nothing of that message is stored', async () => {
    const before = (await h.collector.store.getSamples([firstRun.id])).length;
    const client = new AgentServiceClient(h.collector.grpcAddress, credentials.createInsecure());
    const good: Sample = {
      id: `${firstRun.id}:cpu.extra:throughput`,
      benchmarkId: 'cpu.extra',
      metric: 'throughput',
      unit: 'Mops/s',
      direction: Direction.DIRECTION_HIGHER_IS_BETTER,
      value: 5,
      trials: [5, 5, 5],
      trialCount: 3,
      rsd: 0,
      stealFraction: 0,
      parameters: {},
      primary: true,
      clocksource: 'tsc',
      durationSeconds: 1,
      finishedAtMs: Date.now(),
      flags: [],
    };
    const bad: Sample = { ...good, id: `${firstRun.id}:cpu.extra:latency`, metric: 'latency', value: Number.NaN };
    try {
      const err = await unary(client, 'submitSamples', { runId: firstRun.id, samples: [good, bad] }).catch((e: unknown) => e as ServiceError);
      expect((err as ServiceError).code).toBe(GrpcStatus.INVALID_ARGUMENT);
      expect((err as ServiceError).details).toMatch(/samples\[1\]\.value: must be a finite number/);
    } finally {
      client.close();
    }
    expect((await h.collector.store.getSamples([firstRun.id])).length).toBe(before);
    expect(h.logs.some((l) => l['event'] === 'request-rejected' && l['method'] === 'SubmitSamples' && l['runId'] === firstRun.id)).toBe(true);
  });

  test('samples for a run that does not exist are NOT_FOUND', async () => {
    const client = new AgentServiceClient(h.collector.grpcAddress, credentials.createInsecure());
    const s: Sample = {
      id: 'x:cpu.int32:throughput',
      benchmarkId: 'cpu.int32',
      metric: 'throughput',
      unit: 'Mops/s',
      direction: Direction.DIRECTION_HIGHER_IS_BETTER,
      value: 1,
      trials: [1],
      trialCount: 1,
      rsd: 0,
      stealFraction: 0,
      parameters: {},
      primary: true,
      clocksource: '',
      durationSeconds: 1,
      finishedAtMs: 1,
      flags: [],
    };
    try {
      await expect(unary(client, 'submitSamples', { runId: 'no-such-run', samples: [s] })).rejects.toMatchObject({ code: GrpcStatus.NOT_FOUND });
    } finally {
      client.close();
    }
    expect(await h.collector.store.getRun('no-such-run')).toBeUndefined();
  });

  test('the agent refuses a malformed collector address with a clear message and exit code 2', async () => {
    const res = await runCli(AGENT_CLI, ['run', '--collector', 'not-an-address']);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/--collector: expected HOST:PORT/);
  });
});
