// Operating the collector: Prometheus metrics, gRPC health and reflection, agents' log
// lines, lost runs, and jobs handed to a real daemon-mode agent process.
import { spawn } from 'node:child_process';
import { credentials, loadPackageDefinition, makeGenericClientConstructor, Metadata, type ServiceError } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { AgentServiceClient, Direction, type Sample } from '@guestbench/proto';
import { smokeMetricCount } from '../helpers/smoke-profile';
import { service as healthService } from 'grpc-health-check';
import path from 'node:path';
import { AGENT_CLI, COLLECTOR_CLI, runCli, startHarness, waitFor, type Harness } from '../helpers/collector-harness';

let h: Harness;
let agent: AgentServiceClient;

beforeAll(async () => {
  h = await startHarness({ heartbeatIntervalMs: 200, lostAfterMs: 3000 });
  agent = new AgentServiceClient(h.collector.grpcAddress, credentials.createInsecure());
});

afterAll(async () => {
  agent?.close();
  await h?.close();
});

function call<Res>(method: string, req: object): Promise<Res> {
  return new Promise((resolve, reject) => {
    (agent as unknown as Record<string, (r: object, m: Metadata, cb: (e: ServiceError | null, res: Res) => void) => void>)[method]!.call(
      agent,
      req,
      new Metadata(),
      (e, r) => (e ? reject(e) : resolve(r)),
    );
  });
}

async function enrollAndStart(agentId: string, runId: string): Promise<void> {
  await call('enroll', { agentId, hostname: 'guest1', declaredPlatform: 'kvm', agentVersion: '0.1.0' });
  await call('startRun', { runId, agentId, profile: 'smoke', label: '', agentVersion: '0.1.0', startedAtMs: Date.now(), jobId: '' });
}

function sample(runId: string, metric: string): Sample {
  return {
    id: `${runId}:cpu.int32:${metric}`,
    benchmarkId: 'cpu.int32',
    metric,
    unit: 'Mops/s',
    direction: Direction.DIRECTION_HIGHER_IS_BETTER,
    value: 10,
    trials: [10, 10, 10],
    trialCount: 3,
    rsd: 0,
    stealFraction: 0,
    parameters: {},
    primary: metric === 'a',
    clocksource: 'tsc',
    durationSeconds: 1,
    finishedAtMs: Date.now(),
    flags: [],
  };
}

test('/metrics is valid Prometheus text with samples, runs, agents and latencies', async () => {
  await enrollAndStart('metrics-agent', 'metrics-run');
  await call('submitSamples', { runId: 'metrics-run', samples: [sample('metrics-run', 'a'), sample('metrics-run', 'b')] });
  // a resend is acknowledged but not counted again
  await call('submitSamples', { runId: 'metrics-run', samples: [sample('metrics-run', 'a')] });
  await call('endRun', { runId: 'metrics-run', status: 2, error: '', sampleCount: 2, endedAtMs: Date.now(), failedBenchmarks: [] });
  const res = await fetch(`${h.collector.httpUrl}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  const text = await res.text();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('# HELP ') || line.startsWith('# TYPE ')) continue;
    expect(line).toMatch(/^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})? (-?[0-9.eE+-]+|NaN|\+Inf|-Inf)$/);
  }
  expect(text).toMatch(/^guestbench_samples_ingested_total 2$/m);
  expect(text).toMatch(/^guestbench_runs\{status="completed"\} 1$/m);
  expect(text).toMatch(/^guestbench_runs_ended_total\{status="completed"\} 1$/m);
  expect(text).toMatch(/^guestbench_agents_connected 1$/m);
  expect(text).toMatch(/^guestbench_grpc_request_duration_seconds_count\{method="SubmitSamples",code="OK"\} 2$/m);
});

test('the standard health service answers SERVING for the whole server and each service', async () => {
  const Health = makeGenericClientConstructor(healthService, 'Health');
  const client = new Health(h.collector.grpcAddress, credentials.createInsecure()) as unknown as Record<string, (...args: unknown[]) => unknown> & {
    close(): void;
  };
  try {
    for (const name of ['', 'guestbench.v1.AgentService']) {
      const res = await new Promise<{ status: string }>((resolve, reject) =>
        client['check']!.call(client, { service: name }, (e: ServiceError | null, r: { status: string }) => (e ? reject(e) : resolve(r))),
      );
      expect(res.status).toBe('SERVING');
    }
  } finally {
    client.close();
  }
});

test('server reflection lists the services and describes them without our .proto files', async () => {
  const protoFile = path.join(path.dirname(require.resolve('@grpc/reflection/package.json')), 'build', 'proto', 'grpc', 'reflection', 'v1', 'reflection.proto');
  const pkg = loadPackageDefinition(loadSync(protoFile, { keepCase: true })) as unknown as {
    grpc: {
      reflection: {
        v1: {
          ServerReflection: new (
            addr: string,
            creds: ReturnType<typeof credentials.createInsecure>,
          ) => Record<string, (...args: unknown[]) => unknown> & { close(): void };
        };
      };
    };
  };
  const client = new pkg.grpc.reflection.v1.ServerReflection(h.collector.grpcAddress, credentials.createInsecure());
  try {
    const ask = (req: object): Promise<Record<string, unknown>> =>
      new Promise((resolve, reject) => {
        const stream = client['ServerReflectionInfo']!.call(client) as NodeJS.ReadWriteStream & { write(o: object): void; end(): void };
        stream.on('data', (d: Record<string, unknown>) => resolve(d));
        stream.on('error', reject);
        stream.write(req);
        stream.end();
      });
    const list = await ask({ list_services: '' });
    const names = (list['list_services_response'] as { service: { name: string }[] }).service.map((s) => s.name);
    expect(names).toEqual(expect.arrayContaining(['guestbench.v1.AgentService', 'guestbench.v1.QueryService', 'guestbench.v1.JobService']));
    const file = await ask({ file_containing_symbol: 'guestbench.v1.AgentService' });
    const descriptors = (file['file_descriptor_response'] as { file_descriptor_proto: Buffer[] }).file_descriptor_proto;
    expect(Buffer.concat(descriptors).toString('latin1')).toContain('SubmitSamples');
  } finally {
    client.close();
  }
});

test("an agent's log lines are stored with its run, served over HTTP and re-logged by the collector", async () => {
  await enrollAndStart('log-agent', 'log-run');
  await call('sendLogs', {
    agentId: 'log-agent',
    runId: 'log-run',
    lines: [{ timeMs: 1234, level: 'warn', message: 'disk is slow', fieldsJson: '{"benchmark":"disk.fsync"}' }],
  });
  const res = await fetch(`${h.collector.httpUrl}/api/v1/runs/log-run/logs`);
  expect(res.status).toBe(200);
  const body = (await res.json()) as { lines: { level: string; message: string; fields: { benchmark: string } }[] };
  expect(body.lines).toEqual([{ timeMs: 1234, level: 'warn', message: 'disk is slow', fields: { benchmark: 'disk.fsync' } }]);
  await call('endRun', { runId: 'log-run', status: 2, error: '', sampleCount: 0, endedAtMs: Date.now(), failedBenchmarks: [] });
  const relogged = h.logs.find((l) => l['msg'] === 'disk is slow');
  expect(relogged).toMatchObject({ agentId: 'log-agent', runId: 'log-run', agentFields: { benchmark: 'disk.fsync' }, level: 40 });
  await expect(
    call('sendLogs', { agentId: 'log-agent', runId: 'log-run', lines: [{ timeMs: 1, level: 'loud', message: '', fieldsJson: '' }] }),
  ).rejects.toMatchObject({
    details: expect.stringMatching(/lines\[0\]\.level: one of trace/),
  });
});

test('a run whose heartbeats stop is marked lost and counted', async () => {
  await enrollAndStart('silent-agent', 'silent-run');
  const event = await waitFor('run-lost event', () => h.logs.find((l) => l['event'] === 'run-lost' && l['runId'] === 'silent-run'), 10_000);
  expect(event['agentId']).toBe('silent-agent');
  expect((await h.collector.store.getRun('silent-run'))?.status).toBe('lost');
  const text = await (await fetch(`${h.collector.httpUrl}/metrics`)).text();
  expect(text).toMatch(/^guestbench_runs\{status="lost"\} 1$/m);
});

test('a job goes to a connected daemon agent, which runs it and reports; job show follows it', async () => {
  const none = await runCli(COLLECTOR_CLI, ['job', 'create', '--platform', 'xen', '--profile', 'smoke', '--collector', h.collector.grpcAddress]);
  expect(none.code).toBe(1);
  expect(none.stderr).toMatch(/no connected, idle agent in daemon mode for platform xen/);

  const daemon = spawn(process.execPath, [AGENT_CLI, 'daemon', '--collector', h.collector.grpcAddress, '--platform', 'native', '--agent-id', 'daemon-agent'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let daemonLog = '';
  daemon.stderr.on('data', (d: Buffer) => (daemonLog += d.toString('utf8')));
  try {
    await waitFor(
      'the daemon to wait for jobs',
      () => (h.logs.some((l) => l['agentId'] === 'daemon-agent' && l['event'] === 'agent-enrolled') ? true : undefined),
      20_000,
    );
    const created = await waitFor(
      'job create to find the daemon',
      async () => {
        const r = await runCli(COLLECTOR_CLI, [
          'job',
          'create',
          '--platform',
          'native',
          '--profile',
          'smoke',
          '--label',
          'from-job',
          '--collector',
          h.collector.grpcAddress,
          '--json',
        ]);
        return r.code === 0 ? (JSON.parse(r.stdout) as { job: { id: string }; assignments: { agentId: string }[] }) : undefined;
      },
      20_000,
      200,
    );
    expect(created.assignments.map((a) => a.agentId)).toEqual(['daemon-agent']);
    const done = await waitFor(
      'the job to finish',
      async () => {
        const r = await runCli(COLLECTOR_CLI, ['job', 'show', created.job.id, '--collector', h.collector.grpcAddress, '--json']);
        const info = JSON.parse(r.stdout) as { state: string; assignments: { state: string; runId: string; samples: number }[] };
        return info.state === 'done' ? info : undefined;
      },
      90_000,
      500,
    );
    expect(done.assignments[0]!.state).toBe('completed');
    expect(done.assignments[0]!.samples).toBe(smokeMetricCount());
    const run = await h.collector.store.getRun(done.assignments[0]!.runId);
    expect(run).toMatchObject({ jobId: created.job.id, label: 'from-job', platform: 'native', status: 'completed' });
    const text = await runCli(COLLECTOR_CLI, ['job', 'list', '--collector', h.collector.grpcAddress]);
    expect(text.stdout).toContain(created.job.id);
    // the daemon's own log lines reached the collector with the run
    // (forwarded in batches, so the last one may still be on its way)
    const messages = await waitFor(
      'the run-ended line to be forwarded',
      async () => {
        const logs = (await (await fetch(`${h.collector.httpUrl}/api/v1/runs/${run!.id}/logs`)).json()) as { lines: { message: string }[] };
        const m = logs.lines.map((l) => l.message);
        return m.includes('run ended') ? m : undefined;
      },
      10_000,
      200,
    );
    expect(messages).toEqual(expect.arrayContaining(['run started', 'benchmark started', 'run ended']));
  } finally {
    const exited = new Promise<number | null>((resolve) => daemon.on('exit', (code) => resolve(code)));
    daemon.kill('SIGTERM');
    expect(await exited).toBe(0);
  }
  expect(daemonLog).toMatch(/"event":"job-received"/);
}, 150_000);

test('a job narrowed by --only and changed by --set: the agent runs just that, the run records it, the override is a sample parameter', async () => {
  const daemon = spawn(
    process.execPath,
    [
      AGENT_CLI,
      'daemon',
      '--collector',
      h.collector.grpcAddress,
      '--platform',
      'native',
      '--agent-id',
      'narrow-agent',
      '--state-dir',
      path.join(h.dir, 'narrow-state'),
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  daemon.stderr!.resume();
  try {
    const created = await waitFor(
      'job create to find the daemon',
      async () => {
        const r = await runCli(COLLECTOR_CLI, [
          'job',
          'create',
          '--platform',
          'native',
          '--profile',
          'smoke',
          '--only',
          'sys.clock,mem.latency',
          '--set',
          'mem.latency.workingSetMiB=8',
          '--collector',
          h.collector.grpcAddress,
          '--json',
        ]);
        return r.code === 0 ? (JSON.parse(r.stdout) as { job: { id: string; profile: string }; assignments: { agentId: string }[] }) : undefined;
      },
      30_000,
      200,
    );
    expect(created.job.profile).toBe('smoke only=sys.clock,mem.latency set=mem.latency.workingSetMiB=8');
    expect(created.assignments.map((a) => a.agentId)).toEqual(['narrow-agent']);
    const done = await waitFor(
      'the narrowed job to finish',
      async () => {
        const r = await runCli(COLLECTOR_CLI, ['job', 'show', created.job.id, '--collector', h.collector.grpcAddress, '--json']);
        const info = JSON.parse(r.stdout) as { state: string; assignments: { state: string; runId: string }[] };
        return info.state === 'done' ? info : undefined;
      },
      60_000,
      300,
    );
    expect(done.assignments[0]!.state).toBe('completed');
    const runId = done.assignments[0]!.runId;
    expect(await h.collector.store.getRun(runId)).toMatchObject({
      profile: 'smoke only=sys.clock,mem.latency set=mem.latency.workingSetMiB=8',
      status: 'completed',
    });
    const samples = await h.collector.store.getSamples([runId]);
    expect([...new Set(samples.map((s) => s.benchmarkId))].sort()).toEqual(['mem.latency', 'sys.clock']);
    for (const s of samples.filter((x) => x.benchmarkId === 'mem.latency')) expect(s.parameters).toMatchObject({ workingSetMiB: '8' });
  } finally {
    const exited = new Promise<number | null>((resolve) => daemon.on('exit', (code) => resolve(code)));
    daemon.kill('SIGTERM');
    expect(await exited).toBe(0);
  }
}, 120_000);
