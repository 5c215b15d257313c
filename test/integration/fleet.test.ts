// A fleet: two collector processes on one PostgreSQL database. A job created on one reaches a
// daemon agent waiting on the other at once (LISTEN/NOTIFY: the poll is set far beyond the
// wait, so only the notification can deliver it); a collector killed with SIGKILL loses no
// job; an assignment asked for through both is handed out once; both collectors and the HTTP
// API tell the same story. Two collectors on one SQLite file get their jobs through the poll.
import { credentials, Metadata } from '@grpc/grpc-js';
import { AgentServiceClient, RunStatus } from '@guestbench/proto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { openTestDatabase, planTestPostgres, warnSkipped, type TestDatabase } from '../../collector/test/helpers/test-postgres';
import { spawn } from 'node:child_process';
import { AGENT_CLI, COLLECTOR_CLI, runCli, waitFor } from '../helpers/collector-harness';
import { freePort, startCollectorProcess, type CollectorProcess } from '../helpers/collector-process';
import { smokeMetricCount } from '../helpers/smoke-profile';

interface WireJob {
  job: { id: string };
  state: string;
  assignments: { agentId: string; state: string }[];
}

function agentClient(address: string): AgentServiceClient {
  return new AgentServiceClient(address, credentials.createInsecure());
}

function unary<T>(
  client: AgentServiceClient,
  method: 'enroll' | 'waitForJob' | 'heartbeat' | 'startRun' | 'endRun',
  req: unknown,
  deadlineMs = 30_000,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const fn = client[method].bind(client) as unknown as (r: unknown, m: Metadata, o: { deadline: Date }, cb: (err: Error | null, res: T) => void) => void;
    fn(req, new Metadata(), { deadline: new Date(Date.now() + deadlineMs) }, (err, res) => (err ? reject(err) : resolve(res)));
  });
}

async function enroll(client: AgentServiceClient, agentId: string, platform = 'kvm'): Promise<void> {
  await unary(client, 'enroll', {
    agentId,
    hostname: agentId,
    declaredPlatform: platform,
    agentVersion: '0.1.0',
    detected: { platform, evidence: [] },
    inventory: {
      hostname: agentId,
      cpuModel: 'test',
      cpus: 1,
      memoryBytes: 1,
      kernel: 'k',
      os: 'o',
      arch: 'x64',
      clocksource: 'tsc',
      cpuFlags: '',
      systemVendor: '',
      systemModel: '',
      nodeVersion: process.version,
    },
  });
}

function waitForJob(client: AgentServiceClient, agentId: string, waitMs: number): Promise<{ job?: { id: string } }> {
  return unary(client, 'waitForJob', { agentId, waitMs }, waitMs + 10_000);
}

async function createJob(collector: string, platform = 'kvm'): Promise<WireJob> {
  const r = await runCli(COLLECTOR_CLI, ['job', 'create', '--platform', platform, '--profile', 'smoke', '--collector', collector, '--json']);
  if (r.code !== 0) throw new Error(`job create on ${collector} failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as WireJob;
}

async function showJob(collector: string, id: string): Promise<WireJob> {
  const r = await runCli(COLLECTOR_CLI, ['job', 'show', id, '--collector', collector, '--json']);
  if (r.code !== 0) throw new Error(`job show on ${collector} failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as WireJob;
}

const plan = planTestPostgres();
const describePg = plan.kind === 'skip' ? describe.skip : describe;
if (plan.kind === 'skip') warnSkipped('fleet', plan.reason);

describePg('two collectors on one PostgreSQL', () => {
  let db: TestDatabase;
  let collectors: CollectorProcess[] = [];
  let clients: AgentServiceClient[] = [];

  beforeAll(async () => {
    if (plan.kind !== 'skip') db = await openTestDatabase(plan);
  }, 600_000);
  afterAll(async () => {
    await db?.close();
  });
  beforeEach(async () => {
    // Each case starts with no agent present (agents of earlier cases would still count as connected).
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    try {
      await c.query('DELETE FROM agent_presence');
    } catch {
      // the first collector has not created the table yet
    } finally {
      await c.end();
    }
  });
  afterEach(async () => {
    for (const c of clients) c.close();
    clients = [];
    for (const c of collectors) await c.kill('SIGKILL');
    collectors = [];
  });

  /** A collector process on the shared database; the job poll far beyond any wait here, so only NOTIFY wakes. */
  async function collector(port: number, name: string): Promise<{ proc: CollectorProcess; grpc: string; http: string }> {
    const proc = await startCollectorProcess(db.url, port, ['--collector-id', name, '--job-poll-ms', '600000']);
    collectors.push(proc);
    const ready = proc.events.find((e) => e['event'] === 'collector-ready') as { http: string; collectorId: string };
    expect(ready.collectorId).toBe(name);
    return { proc, grpc: `127.0.0.1:${port}`, http: ready.http };
  }

  function client(address: string): AgentServiceClient {
    const c = agentClient(address);
    clients.push(c);
    return c;
  }

  async function presenceOf(agentId: string): Promise<{ collector_id: string; takes_jobs: boolean } | undefined> {
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    try {
      const { rows } = await c.query<{ collector_id: string; takes_jobs: boolean }>('SELECT collector_id, takes_jobs FROM agent_presence WHERE agent_id = $1', [
        agentId,
      ]);
      return rows[0];
    } finally {
      await c.end();
    }
  }

  test('a job created on B reaches the agent waiting on A at once; job list|show and the API agree on both', async () => {
    const a = await collector(await freePort(), 'A');
    const b = await collector(await freePort(), 'B');
    const agent = client(a.grpc);
    await enroll(agent, 'fleet-agent-1');
    const waiting = waitForJob(agent, 'fleet-agent-1', 30_000);
    await waitFor(
      'the agent to be present, waiting on A',
      async () => {
        const p = await presenceOf('fleet-agent-1');
        return p?.collector_id === 'A' && p.takes_jobs ? p : undefined;
      },
      10_000,
      50,
    );

    const created = await createJob(b.grpc);
    expect(created.assignments.map((x) => x.agentId)).toEqual(['fleet-agent-1']);
    const got = await waiting;
    expect(got.job?.id).toBe(created.job.id);

    const onA = await showJob(a.grpc, created.job.id);
    const onB = await showJob(b.grpc, created.job.id);
    expect(onA).toEqual(onB);
    expect(onA.assignments).toEqual([expect.objectContaining({ agentId: 'fleet-agent-1', state: 'taken' })]);
    const apiA = (await (await fetch(`${a.http}/api/v1/jobs/${created.job.id}`)).json()) as {
      job: { id: string };
      assignments: { agentId: string; state: string }[];
    };
    const apiB = (await (await fetch(`${b.http}/api/v1/jobs/${created.job.id}`)).json()) as typeof apiA;
    expect(apiA).toEqual(apiB);
    expect(apiA.assignments.map((x) => [x.agentId, x.state])).toEqual([['fleet-agent-1', 'taken']]);
    const listA = await runCli(COLLECTOR_CLI, ['job', 'list', '--collector', a.grpc, '--json']);
    const listB = await runCli(COLLECTOR_CLI, ['job', 'list', '--collector', b.grpc, '--json']);
    expect(JSON.parse(listA.stdout)).toEqual(JSON.parse(listB.stdout));
    expect((JSON.parse(listA.stdout) as WireJob[]).map((j) => j.job.id)).toContain(created.job.id);
  }, 120_000);

  test('a collector killed with SIGKILL loses nothing: its agent reconnects to the other and gets the job created meanwhile', async () => {
    const portA = await freePort();
    let a = await collector(portA, 'A');
    const b = await collector(await freePort(), 'B');
    const onA = client(a.grpc);
    await enroll(onA, 'fleet-agent-2');
    const cut = waitForJob(onA, 'fleet-agent-2', 30_000).catch((err: unknown) => err);
    await waitFor('the agent to wait on A', async () => ((await presenceOf('fleet-agent-2'))?.collector_id === 'A' ? true : undefined), 10_000, 50);
    await a.proc.kill('SIGKILL');
    expect(await cut).toBeInstanceOf(Error);

    // Created on B while the agent is between collectors: it is still counted as connected.
    const created = await createJob(b.grpc);
    expect(created.assignments.map((x) => x.agentId)).toEqual(['fleet-agent-2']);
    const onB = client(b.grpc);
    const got = await waitForJob(onB, 'fleet-agent-2', 5_000);
    expect(got.job?.id).toBe(created.job.id);
    expect(await presenceOf('fleet-agent-2')).toMatchObject({ collector_id: 'B' });

    // The agent starts the job's run; A comes back: it tells the same story, and the job is not handed out again.
    await unary(onB, 'startRun', {
      runId: 'failover-run',
      agentId: 'fleet-agent-2',
      profile: 'smoke',
      label: '',
      agentVersion: '0.1.0',
      startedAtMs: Date.now(),
      jobId: created.job.id,
    });
    a = await collector(portA, 'A');
    expect(await showJob(a.grpc, created.job.id)).toEqual(await showJob(b.grpc, created.job.id));
    const again = await waitForJob(client(a.grpc), 'fleet-agent-2', 300);
    expect(again.job).toBeUndefined();
  }, 120_000);

  test('an agent given --collector A,B moves to B when A stops answering mid-run, and delivers everything there once', async () => {
    const a = await collector(await freePort(), 'A');
    const b = await collector(await freePort(), 'B');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gb-failover-'));
    // The network benchmarks need a sink that outlives collector A's own.
    const sink = spawn(process.execPath, [AGENT_CLI, 'serve-net', '--listen', '127.0.0.1:0', '--json'], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      const sinkAddress = await new Promise<string>((resolve, reject) => {
        sink.stdout.once('data', (d: Buffer) => resolve((JSON.parse(d.toString('utf8').split('\n')[0] ?? '') as { listening: string }).listening));
        sink.once('exit', () => reject(new Error('serve-net exited')));
      });
      const agent = spawn(
        process.execPath,
        [
          AGENT_CLI,
          'run',
          '--collector',
          `${a.grpc},${b.grpc}`,
          '--profile',
          'smoke',
          '--platform',
          'native',
          '--agent-id',
          'failover-agent',
          '--state-dir',
          path.join(dir, 'state'),
          '--net-target',
          sinkAddress,
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let stderr = '';
      agent.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
      const exit = new Promise<number | null>((resolve) => agent.on('exit', (code) => resolve(code)));
      await a.proc.waitForEvent((e) => e['event'] === 'samples-stored' && e['agentId'] === 'failover-agent', 90_000);
      // A stops answering (its connections stay open): calls to it run into their deadline.
      a.proc.child.kill('SIGSTOP');
      const code = await exit;
      expect(stderr).toMatch(/"event":"collector-failover".*"from":"127\.0\.0\.1:\d+".*"to":"127\.0\.0\.1:\d+"/);
      expect(code).toBe(0);
      expect(b.proc.events.some((e) => e['event'] === 'samples-stored' && e['agentId'] === 'failover-agent')).toBe(true);

      const c = new pg.Client({ connectionString: db.url });
      await c.connect();
      try {
        const runs = await c.query<{ id: string; status: string; n: number }>(
          "SELECT r.id, r.status, (SELECT COUNT(*) FROM samples s WHERE s.run_id = r.id)::int AS n FROM runs r WHERE r.agent_id = 'failover-agent'",
        );
        expect(runs.rows).toEqual([{ id: expect.any(String), status: 'completed', n: smokeMetricCount() }]);
      } finally {
        await c.end();
      }
      // The spool is empty: everything was acknowledged.
      const spool = path.join(dir, 'state', 'spool');
      expect(fs.existsSync(spool) ? fs.readdirSync(spool) : []).toEqual([]);
    } finally {
      a.proc.child.kill('SIGCONT');
      sink.kill('SIGTERM');
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 240_000);

  test('an agent waiting on both collectors at once gets each job once', async () => {
    const a = await collector(await freePort(), 'A');
    const b = await collector(await freePort(), 'B');
    const onA = client(a.grpc);
    const onB = client(b.grpc);
    await enroll(onA, 'fleet-agent-3');
    const waits = [waitForJob(onA, 'fleet-agent-3', 8_000), waitForJob(onB, 'fleet-agent-3', 8_000)];
    await waitFor('the agent to be present', async () => ((await presenceOf('fleet-agent-3'))?.takes_jobs ? true : undefined), 10_000, 50);
    const created = await createJob(a.grpc);
    const got = await Promise.all(waits);
    expect(got.map((g) => g.job?.id).filter((id) => id !== undefined)).toEqual([created.job.id]);
  }, 120_000);

  test('a busy agent is not given a job, wherever it is connected; once its run ends it is; fleet totals agree on both collectors', async () => {
    const a = await collector(await freePort(), 'A');
    const b = await collector(await freePort(), 'B');
    const agent = client(a.grpc);
    await enroll(agent, 'fleet-agent-4', 'xen');
    await unary(agent, 'heartbeat', { agentId: 'fleet-agent-4', runId: '', takesJobs: true, guestMonotonicMs: 0 });
    await unary(agent, 'startRun', {
      runId: 'busy-run',
      agentId: 'fleet-agent-4',
      profile: 'smoke',
      label: '',
      agentVersion: '0.1.0',
      startedAtMs: Date.now(),
      jobId: '',
    });
    const other = client(b.grpc);
    await enroll(other, 'fleet-agent-5', 'kvm');

    // Fleet totals: the same from either collector, whichever one the agents talk to.
    const fleetA = (await (await fetch(`${a.http}/api/v1/fleet`)).json()) as Record<string, unknown>;
    const fleetB = (await (await fetch(`${b.http}/api/v1/fleet`)).json()) as Record<string, unknown>;
    expect(fleetA['collectorId']).toBe('A');
    expect(fleetB['collectorId']).toBe('B');
    expect({ ...fleetA, collectorId: '' }).toEqual({ ...fleetB, collectorId: '' });
    expect(fleetA).toMatchObject({
      agents: { connected: 2, idle: 1, busy: 1, daemon: 1, byPlatform: { kvm: 1, xen: 1 } },
      collectors: [
        { id: 'A', agents: 1 },
        { id: 'B', agents: 1 },
      ],
    });
    expect((fleetA['runs'] as { byStatus: Record<string, number> }).byStatus['running']).toBeGreaterThanOrEqual(1);
    const bad = await fetch(`${a.http}/api/v1/fleet?platform=kvm`);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toBe('unknown query parameter "platform" (known: none)');
    // /metrics stays per collector: each counts the agent it heard from.
    const metricsA = await (await fetch(`${a.http}/metrics`)).text();
    expect(metricsA).toMatch(/^guestbench_agents_connected 1$/m);

    const refused = await runCli(COLLECTOR_CLI, ['job', 'create', '--platform', 'xen', '--profile', 'smoke', '--collector', b.grpc]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/no connected, idle agent in daemon mode for platform xen/);
    await unary(agent, 'endRun', {
      runId: 'busy-run',
      status: RunStatus.RUN_STATUS_COMPLETED,
      error: '',
      sampleCount: 0,
      endedAtMs: Date.now(),
      failedBenchmarks: [],
    });
    expect((await createJob(b.grpc, 'xen')).assignments.map((x) => x.agentId)).toEqual(['fleet-agent-4']);
  }, 120_000);
});

describe('two collectors on one SQLite file', () => {
  let dir: string;
  let collectors: CollectorProcess[] = [];
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gb-fleet-'));
  });
  afterEach(async () => {
    for (const c of collectors) await c.kill('SIGKILL');
    collectors = [];
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('SQLite cannot notify another process: the poll delivers the job instead', async () => {
    const db = path.join(dir, 'shared.db');
    const portA = await freePort();
    const portB = await freePort();
    collectors.push(await startCollectorProcess(db, portA, ['--collector-id', 'A', '--job-poll-ms', '200']));
    collectors.push(await startCollectorProcess(db, portB, ['--collector-id', 'B', '--job-poll-ms', '200']));
    const agent = agentClient(`127.0.0.1:${portA}`);
    try {
      await enroll(agent, 'sqlite-agent');
      const waiting = waitForJob(agent, 'sqlite-agent', 20_000);
      const created = await waitFor(
        'job create on B to see the agent waiting on A',
        async () => {
          try {
            return await createJob(`127.0.0.1:${portB}`);
          } catch {
            return undefined;
          }
        },
        10_000,
        100,
      );
      expect((await waiting).job?.id).toBe(created.job.id);
    } finally {
      agent.close();
    }
  }, 120_000);
});
