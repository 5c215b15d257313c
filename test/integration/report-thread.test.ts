// The report thread against a real collector process: while the main thread is held by a
// busy loop (as by a CPU benchmark kernel), heartbeats keep arriving and samples handed over
// before it are stored, in one call for benchmarks that finished together.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CollectorClient, ReportThread } from '@guestbench/agent';
import { AGENT_CLI, runCli, startHarness } from '../helpers/collector-harness';
import { freePort, startCollectorProcess, type CollectorProcess } from '../helpers/collector-process';
import { agentClient, call, enrollReq, sampleFor, startReq } from '../helpers/grpc-calls';

const WORKER = path.resolve(__dirname, '..', '..', 'agent', 'dist', 'report', 'report-thread-worker.js');

let dir: string;
let collector: CollectorProcess | undefined;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gb-report-thread-'));
});

afterEach(async () => {
  await collector?.kill('SIGKILL');
  collector = undefined;
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Holds this thread for `ms`, as a benchmark kernel does: no timer or I/O callback runs meanwhile. */
function busy(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    // spin
  }
}

/** Starts a collector process and, on it, a run of an enrolled agent; returns its addresses. */
async function collectorWithRun(agentId: string, runId: string): Promise<{ process: CollectorProcess; address: string; httpUrl: string }> {
  const started = await startCollectorProcess(path.join(dir, 'c.db'), await freePort());
  collector = started;
  const ready = started.events.find((e) => e['event'] === 'collector-ready')!;
  const address = ready['grpc'] as string;
  const raw = agentClient(address);
  await call(raw, 'enroll', enrollReq(agentId));
  await call(raw, 'startRun', startReq(agentId, runId));
  raw.close();
  return { process: started, address, httpUrl: ready['http'] as string };
}

/** The count of one gRPC method's calls answered OK, from the collector's /metrics. */
async function callsAnswered(httpUrl: string, method: string): Promise<number> {
  const text = await (await fetch(`${httpUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`guestbench_grpc_request_duration_seconds_count{method="${method}",code="OK"}`));
  return line === undefined ? 0 : Number(line.split(' ').pop());
}

test('while the main thread is busy, heartbeats reach the collector and handed-over samples are stored in one call', async () => {
  const { process: busyCollector, address, httpUrl } = await collectorWithRun('busy-agent', 'run-busy');

  const acked: string[] = [];
  const client = new CollectorClient(address);
  const thread = new ReportThread({ client, intervalMs: 100, lingerMs: 300, workerScript: WORKER });
  thread.beginRun({
    runId: 'run-busy',
    onAcked: (ids) => acked.push(...ids),
    onSendFailed: (ids, code, message) => {
      throw new Error(`samples ${ids.join(', ')} not sent (${code}): ${message}`);
    },
  });
  thread.updateBeat({ agentId: 'busy-agent', runId: 'run-busy', currentBenchmark: 'cpu.int32', takesJobs: false });
  try {
    // The first beat is answered: the thread is up and talks to the collector.
    await new Promise<void>((resolve) => {
      const check = setInterval(() => thread.lastBeatCode === 0 && (clearInterval(check), resolve()), 20);
    });
    const beatsBefore = await callsAnswered(httpUrl, 'Heartbeat');
    const callsBefore = await callsAnswered(httpUrl, 'SubmitSamples');
    // Three benchmarks that finished together, handed over in one turn of the main thread.
    const samples = ['cpu.int32', 'cpu.int64', 'sys.clock'].map((b) => sampleFor('run-busy', { id: `run-busy:${b}:throughput`, benchmarkId: b }));
    for (const s of samples) thread.send([s]);
    busy(3000);
    const freeAt = Date.now();
    const beatsDuring = (await callsAnswered(httpUrl, 'Heartbeat')) - beatsBefore;
    // 30 beats are due in 3 s; without the thread none would go while this thread spins, and
    // at most one in the moment after. Half, for a machine shared with other work.
    expect(beatsDuring).toBeGreaterThanOrEqual(15);

    // The samples were stored while this thread was still busy: their batch waited on the
    // thread's own timer (≤ 1 s), not on the main thread.
    const stored = await busyCollector.waitForEvent((e) => e['event'] === 'samples-stored' && e['runId'] === 'run-busy');
    expect(stored['count']).toBe(3);
    expect(stored['time'] as number).toBeLessThan(freeAt);
    expect((await callsAnswered(httpUrl, 'SubmitSamples')) - callsBefore).toBe(1);
    await thread.endRun();
    expect(acked.sort()).toEqual(samples.map((s) => s.id).sort());
  } finally {
    await thread.stop();
    client.close();
  }
});

test('a run sends its last heartbeat when it ends, not only on the timer: the clock check spans the whole run', async () => {
  const { address, httpUrl } = await collectorWithRun('short-agent', 'run-short');

  const client = new CollectorClient(address);
  // The timer would send the second beat a minute from now: only the first and the last go.
  const thread = new ReportThread({ client, intervalMs: 60_000, lingerMs: 300, workerScript: WORKER });
  thread.beginRun({ runId: 'run-short', onAcked: () => undefined, onSendFailed: () => undefined });
  thread.updateBeat({ agentId: 'short-agent', runId: 'run-short', currentBenchmark: 'sys.clock', takesJobs: false });
  try {
    await new Promise<void>((resolve) => {
      const check = setInterval(() => thread.lastBeatCode === 0 && (clearInterval(check), resolve()), 20);
    });
    expect(await callsAnswered(httpUrl, 'Heartbeat')).toBe(1);
    const endedAt = Date.now();
    await thread.endRun();
    const deadline = Date.now() + 10_000;
    while ((await callsAnswered(httpUrl, 'Heartbeat')) < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await callsAnswered(httpUrl, 'Heartbeat')).toBe(2);
    const { run } = (await (await fetch(`${httpUrl}/api/v1/runs/run-short`)).json()) as { run: { lastHeartbeatMs: number } };
    expect(run.lastHeartbeatMs).toBeGreaterThanOrEqual(endedAt);
  } finally {
    await thread.stop();
    client.close();
  }
});

test('a run whose benchmarks finish close together sends their samples in fewer calls than benchmarks, every one stored', async () => {
  const h = await startHarness();
  try {
    // Ten benchmarks of about a tenth of a second each.
    const benchmarks = [
      'cpu.int32',
      'cpu.int64',
      'cpu.float32',
      'cpu.float64',
      'cpu.math',
      'cpu.memory',
      'cpu.arrays',
      'cpu.calls',
      'sys.clock',
      'sys.syscall',
    ];
    const profile = path.join(dir, 'fast.json');
    fs.writeFileSync(
      profile,
      JSON.stringify({ warmupSeconds: 0.005, trialSeconds: 0.005, minTrials: 3, maxTrials: 3, rsdThreshold: 0.5, budgetSeconds: 1, benchmarks }),
    );
    const res = await runCli(AGENT_CLI, [
      'run',
      '--collector',
      h.collector.grpcAddress,
      '--profile',
      profile,
      '--platform',
      'native',
      '--state-dir',
      path.join(dir, 'state'),
      '--json',
    ]);
    expect([res.code, res.stderr.split('\n').filter((l) => /"level":(40|50|60)/.test(l)), res.stderr.slice(-3000)]).toEqual([0, [], res.stderr.slice(-3000)]);
    const result = JSON.parse(res.stdout) as { runId: string; samples: number; acked: number };
    expect(result.acked).toBe(result.samples);
    const calls = h.logs.filter((e) => e['event'] === 'samples-stored' && e['runId'] === result.runId);
    const stored = await h.collector.store.getSamples([result.runId]);
    expect(stored).toHaveLength(result.samples);
    expect(new Set(stored.map((s) => s.benchmarkId)).size).toBeGreaterThanOrEqual(benchmarks.length);
    expect(calls.reduce((n, c) => n + (c['count'] as number), 0)).toBe(result.samples);
    expect(calls.length).toBeLessThan(benchmarks.length);
  } finally {
    await h.close();
  }
});
