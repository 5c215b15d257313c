// No lost results, with real processes: the collector killed with SIGKILL mid-run and
// restarted; the agent killed with SIGKILL mid-run and restarted; a proxy that keeps
// dropping connections. Every acknowledged sample stays, every sample arrives, none twice.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { SqliteStore } from '@guestbench/collector';
import { AGENT_CLI, runCli, waitFor } from '../helpers/collector-harness';
import { freePort, startCollectorProcess, type CollectorProcess } from '../helpers/collector-process';
import { smokeMetricCount } from '../helpers/smoke-profile';

let dir: string;
let collectors: CollectorProcess[] = [];
let stopLater: (() => void)[] = [];

/** `guestbench-agent serve-net` as a child: the sink/echo endpoint anywhere. */
async function startServeNet(): Promise<{ address: string; stop: () => void }> {
  const child = spawn(process.execPath, [AGENT_CLI, 'serve-net', '--listen', '127.0.0.1:0', '--json'], { stdio: ['ignore', 'pipe', 'ignore'] });
  const line = await new Promise<string>((resolve, reject) => {
    child.stdout!.once('data', (d: Buffer) => resolve(d.toString('utf8').split('\n')[0] ?? ''));
    child.once('exit', () => reject(new Error('serve-net exited')));
  });
  return { address: (JSON.parse(line) as { listening: string }).listening, stop: () => child.kill('SIGTERM') };
}

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gb-nolost-'));
});

afterEach(async () => {
  for (const c of collectors) await c.kill('SIGKILL');
  collectors = [];
  for (const stop of stopLater) stop();
  stopLater = [];
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

function startAgent(args: readonly string[]): { exit: Promise<number | null>; kill: (s: NodeJS.Signals) => void; stderr: () => string } {
  const child = spawn(process.execPath, [AGENT_CLI, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString('utf8')));
  return { exit: new Promise((resolve) => child.on('exit', (code) => resolve(code))), kill: (s) => child.kill(s), stderr: () => err };
}

test('collector killed with SIGKILL mid-run and restarted: acknowledged samples stay, the resend completes the run, no duplicate', async () => {
  const db = path.join(dir, 'collector.db');
  const port = await freePort();
  const first = await startCollectorProcess(db, port);
  collectors.push(first);
  // The network benchmarks need a sink that outlives the collector's own.
  const sink = await startServeNet();
  const agent = startAgent([
    'run',
    '--collector',
    `127.0.0.1:${port}`,
    '--profile',
    'smoke',
    '--platform',
    'native',
    '--state-dir',
    path.join(dir, 'state'),
    '--net-target',
    sink.address,
  ]);
  stopLater.push(sink.stop);
  await first.waitForEvent((e) => e['event'] === 'samples-stored', 60_000);
  await first.kill('SIGKILL');
  const storedAtKill = await withStore(db, async (s) => {
    const runs = await s.listRuns();
    return (await s.getSamples(runs.map((r) => r.id))).map((x) => x.id);
  });
  expect(storedAtKill.length).toBeGreaterThan(0);
  // The agent runs on without its collector for a while.
  await waitFor('the agent to notice', () => (agent.stderr().includes('"event":"collector-unreachable"') ? true : undefined), 60_000, 100);
  const second = await startCollectorProcess(db, port);
  collectors.push(second);
  const code = await agent.exit;
  expect(
    agent
      .stderr()
      .split('\n')
      .filter((l) => /"level":(50|60)/.test(l)),
  ).toEqual([]);
  expect(code).toBe(0);
  await withStore(db, async (s) => {
    const runs = await s.listRuns();
    expect(runs).toHaveLength(1);
    expect(runs[0]!.status).toBe('completed');
    const ids = (await s.getSamples([runs[0]!.id])).map((x) => x.id);
    expect(ids).toHaveLength(smokeMetricCount());
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual(expect.arrayContaining(storedAtKill));
  });
}, 240_000);

test('agent killed with SIGKILL mid-run: its spooled samples arrive once after it restarts', async () => {
  const db = path.join(dir, 'collector.db');
  const port = await freePort(); // nothing listens yet: the collector is down while the agent measures
  const state = path.join(dir, 'state');
  // --offline: the collector is down, and the agent is told to measure now and deliver later.
  const agent = startAgent(['run', '--collector', `127.0.0.1:${port}`, '--profile', 'smoke', '--platform', 'native', '--state-dir', state, '--offline']);
  const spoolFiles = (): string[] => {
    try {
      return fs
        .readdirSync(path.join(state, 'spool'))
        .flatMap((run) => fs.readdirSync(path.join(state, 'spool', run, 'samples')).filter((f) => f.endsWith('.pb')));
    } catch {
      return [];
    }
  };
  await waitFor('three spooled samples', () => (spoolFiles().length >= 3 ? true : undefined), 120_000, 100);
  agent.kill('SIGKILL');
  await agent.exit;
  const spooled = spoolFiles().length;
  const collector = await startCollectorProcess(db, port);
  collectors.push(collector);
  const flush = await runCli(AGENT_CLI, ['flush', '--collector', `127.0.0.1:${port}`, '--state-dir', state, '--json']);
  expect(flush.code).toBe(0);
  expect(JSON.parse(flush.stdout)).toMatchObject({ delivered: spooled, runsLeft: 0 });
  expect(spoolFiles()).toEqual([]);
  const again = await runCli(AGENT_CLI, ['flush', '--collector', `127.0.0.1:${port}`, '--state-dir', state, '--json']);
  expect(JSON.parse(again.stdout)).toMatchObject({ delivered: 0, runsLeft: 0 });
  await withStore(db, async (s) => {
    const runs = await s.listRuns();
    expect(runs).toHaveLength(1);
    expect(runs[0]!.status).toBe('failed');
    expect(runs[0]!.error).toMatch(/ended before the run finished/);
    expect(await s.getSamples([runs[0]!.id])).toHaveLength(spooled);
  });
}, 240_000);

test('a proxy that keeps dropping connections: nothing lost, nothing duplicated', async () => {
  const db = path.join(dir, 'collector.db');
  const port = await freePort();
  const collector = await startCollectorProcess(db, port);
  collectors.push(collector);
  const sockets = new Set<net.Socket>();
  let dropped = 0;
  const proxy = net.createServer((client) => {
    const upstream = net.connect(port, '127.0.0.1');
    sockets.add(client);
    sockets.add(upstream);
    client.pipe(upstream).pipe(client);
    const close = (): void => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const proxyPort = (proxy.address() as net.AddressInfo).port;
  const chaos = setInterval(() => {
    for (const s of sockets) s.destroy();
    if (sockets.size > 0) dropped++;
  }, 250);
  try {
    const res = await runCli(AGENT_CLI, [
      'run',
      '--collector',
      `127.0.0.1:${proxyPort}`,
      '--profile',
      'smoke',
      '--platform',
      'native',
      '--state-dir',
      path.join(dir, 'state'),
    ]);
    expect(res.code).toBe(0);
  } finally {
    clearInterval(chaos);
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => proxy.close(() => resolve()));
  }
  expect(dropped).toBeGreaterThan(3);
  await withStore(db, async (s) => {
    const runs = await s.listRuns();
    expect(runs).toHaveLength(1);
    expect(runs[0]!.status).toBe('completed');
    const ids = (await s.getSamples([runs[0]!.id])).map((x) => x.id);
    expect(ids).toHaveLength(smokeMetricCount());
  });
}, 240_000);
