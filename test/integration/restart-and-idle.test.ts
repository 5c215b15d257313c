// A collector restart does not fail a run (the net sink may move; the agent asks again), a
// refused enrollment leaves nothing behind, and connections that stay silent are closed while
// live agents go on. Real processes and real sockets.
import { status as GrpcStatus } from '@grpc/grpc-js';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { SqliteStore } from '@guestbench/collector';
import { AGENT_CLI, COLLECTOR_CLI, runCli, startHarness } from '../helpers/collector-harness';
import { freePort, startCollectorProcess, type CollectorProcess } from '../helpers/collector-process';
import { agentClient, call, enrollReq } from '../helpers/grpc-calls';
import { smokeBenchmarkIds } from '../helpers/smoke-profile';

/** The client connection preface and an empty SETTINGS frame: enough for a server session. */
const HTTP2_PREFACE_AND_SETTINGS = Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0])]);

let dir: string;
let collectors: CollectorProcess[] = [];

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gb-restart-'));
});

afterEach(async () => {
  for (const c of collectors) await c.kill('SIGKILL');
  collectors = [];
  fs.rmSync(dir, { recursive: true, force: true });
});

async function withStore<T>(db: string, fn: (store: SqliteStore) => Promise<T>): Promise<T> {
  const store = new SqliteStore(db);
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

test('by default the net sink listens on the gRPC port + 1, the same after a restart', async () => {
  const db = path.join(dir, 'c.db');
  const port = await freePort();
  const sinkOf = (c: CollectorProcess): unknown => c.events.find((e) => e['event'] === 'collector-ready')?.['netSink'];
  const first = await startCollectorProcess(db, port);
  collectors.push(first);
  expect(sinkOf(first)).toBe(`127.0.0.1:${port + 1}`);
  await first.kill('SIGKILL');
  const second = await startCollectorProcess(db, port);
  collectors.push(second);
  expect(sinkOf(second)).toBe(`127.0.0.1:${port + 1}`);
});

test('collector restarted mid-run with its net sink on another port: the agent asks for the new one and the run completes', async () => {
  const db = path.join(dir, 'c.db');
  const port = await freePort();
  // A sink on a free port, so it moves on restart: the agent must learn the new address.
  const first = await startCollectorProcess(db, port, ['--net-sink', '127.0.0.1:0']);
  collectors.push(first);
  const agent = runCli(AGENT_CLI, [
    'run',
    '--collector',
    `127.0.0.1:${port}`,
    '--profile',
    'smoke',
    '--platform',
    'native',
    '--state-dir',
    path.join(dir, 'state'),
  ]);
  await first.waitForEvent((e) => e['event'] === 'run-started', 60_000);
  await first.kill('SIGKILL');
  const second = await startCollectorProcess(db, port, ['--net-sink', '127.0.0.1:0']);
  collectors.push(second);
  const sinks = [first, second].map((c) => c.events.find((e) => e['event'] === 'collector-ready')?.['netSink']);
  expect(sinks[0]).not.toEqual(sinks[1]);
  const res = await agent;
  // No network benchmark may fail. (Others can, for their own reasons on a busy machine; then
  // the run says which, and only those.)
  const failed = res.stderr
    .split('\n')
    .filter((l) => l.includes('"event":"benchmark-failed"'))
    .map((l) => (JSON.parse(l) as { benchmark: string }).benchmark);
  expect(failed.filter((id) => id.startsWith('net.'))).toEqual([]);
  await withStore(db, async (s) => {
    const runs = await s.listRuns();
    expect(runs).toHaveLength(1);
    if (failed.length === 0) {
      expect(res.code).toBe(0);
      expect(runs[0]!.status).toBe('completed');
    } else {
      expect(runs[0]).toMatchObject({ status: 'failed', error: `benchmarks failed: ${failed.join(', ')}` });
    }
    const benchmarks = new Set((await s.getSamples([runs[0]!.id])).map((x) => x.benchmarkId));
    const net = smokeBenchmarkIds().filter((id) => id.startsWith('net.'));
    expect(net.length).toBeGreaterThan(0);
    for (const id of net) expect(benchmarks).toContain(id);
  });
}, 240_000);

test('an enrollment refused for a missing token leaves no run behind to be delivered at the next start', async () => {
  const db = path.join(dir, 'c.db');
  const port = await freePort();
  const collector = await startCollectorProcess(db, port, [], { auth: 'tokens' });
  collectors.push(collector);
  const state = path.join(dir, 'state');
  const refused = await runCli(AGENT_CLI, [
    'run',
    '--collector',
    `127.0.0.1:${port}`,
    '--profile',
    'smoke',
    '--agent-id',
    'ghostless',
    '--deliver-timeout',
    '0',
    '--state-dir',
    state,
  ]);
  expect(refused.code).not.toBe(0);
  expect(refused.stderr).toMatch(/no token/);
  const created = await runCli(COLLECTOR_CLI, ['token', 'create', '--db', db, '--name', 'late']);
  const flush = await runCli(AGENT_CLI, ['flush', '--collector', `127.0.0.1:${port}`, '--state-dir', state], { GUESTBENCH_TOKEN: created.stdout.trim() });
  expect(flush.code).toBe(0);
  await withStore(db, async (s) => expect(await s.listRuns()).toEqual([]));
}, 120_000);

test('silent connections, with or without the HTTP/2 preface, are closed at the idle limit; live agents are unaffected', async () => {
  const idleMs = 1500;
  const h = await startHarness({ connectionIdleMs: idleMs });
  const live = agentClient(h.collector.grpcAddress);
  const sockets: net.Socket[] = [];
  try {
    const opened = Date.now();
    const closedAfter: Array<Promise<number>> = [];
    for (let i = 0; i < 40; i++) {
      const socket = net.connect(h.collector.grpcPort, '127.0.0.1');
      sockets.push(socket);
      closedAfter.push(new Promise((resolve) => socket.on('close', () => resolve(Date.now() - opened))));
      socket.on('error', () => undefined);
      // Read what the collector sends (its SETTINGS, its GOAWAY), or its close is never seen.
      socket.resume();
      // Half of them speak HTTP/2 far enough to get a session, then say nothing.
      if (i % 2 === 0) socket.on('connect', () => socket.write(HTTP2_PREFACE_AND_SETTINGS));
    }
    // Meanwhile a live agent: calls spaced wider than the idle limit, and a long poll longer than it.
    await call(live, 'enroll', enrollReq('live'));
    for (let i = 0; i < 3; i++) {
      await call(live, 'heartbeat', { agentId: 'live', runId: '', currentBenchmark: '', takesJobs: true, guestMonotonicMs: 0 });
      await new Promise((r) => setTimeout(r, idleMs + 500));
    }
    const poll = await call<{ job?: unknown }>(live, 'waitForJob', { agentId: 'live', waitMs: 2 * idleMs + 1000 });
    expect(poll.job).toBeUndefined();
    const times = await Promise.all(closedAfter);
    // Closed by the collector, not by this test: nothing here ends them.
    expect(Math.max(...times)).toBeLessThan(20 * idleMs);
    await expect(call(live, 'heartbeat', { agentId: 'live', runId: '', currentBenchmark: '', takesJobs: true, guestMonotonicMs: 0 })).resolves.toEqual({});
    await expect(call(live, 'heartbeat', { agentId: '', runId: '', currentBenchmark: '', takesJobs: true, guestMonotonicMs: 0 })).rejects.toMatchObject({
      code: GrpcStatus.INVALID_ARGUMENT,
    });
  } finally {
    for (const s of sockets) s.destroy();
    live.close();
    await h.close();
  }
}, 60_000);
