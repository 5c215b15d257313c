#!/usr/bin/env node
// bench:fleet — two collectors on one PostgreSQL (started by scripts/ensure-postgres.sh) and
// N light-weight simulated agents (default 10,000; --agents N) in this one process, each with
// a gRPC channel of its own, split across the collectors. Every agent enrolls and waits for a
// job; the jobs are created on the collector the agents are NOT connected to; each agent then
// sends one short run (start, heartbeat, two calls of two samples, end). Collector A is killed
// with SIGKILL midway through the runs and restarted; its agents fail over to B. Reports
// samples/s, acknowledgement and job dispatch latencies, the collectors' CPU and memory, and
// that exactly one copy of every sample is stored.
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { credentials, Metadata, status: GrpcStatus } = require('@grpc/grpc-js');
const { AgentServiceClient, JobServiceClient, RunStatus } = require('@guestbench/proto');
const pg = require('pg');
const { startCollector, percentile, table } = require('./lib/collector-process');
const { sample } = require('./lib/fake-agent');

const USAGE = `usage: node bench/fleet.js [--agents N] [--in-flight N] [--json]
  --agents N      simulated agents (default 10000)
  --in-flight N   at most this many calls of the agents at once, long polls aside (default 256)
  --json          print the results as JSON instead of a table`;

function parseArguments(argv) {
  const out = { agents: 10_000, inFlight: 256, json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined || !/^[0-9]+$/.test(v) || Number(v) < 1) throw new Error(`${a}: a whole number ≥ 1, got ${JSON.stringify(v)}`);
      return Number(v);
    };
    if (a === '--agents') out.agents = value();
    else if (a === '--in-flight') out.inFlight = value();
    else if (a === '--json') out.json = true;
    else if (a === '--help' || a === '-h') {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    } else throw new Error(`unknown argument ${JSON.stringify(a)}\n${USAGE}`);
  }
  if (out.agents < 2) throw new Error('--agents: at least 2 (one per collector)');
  return out;
}

const ROOT = path.resolve(__dirname, '..');
const SAMPLES_PER_CALL = 2;
const CALLS_PER_RUN = 2;
const FAILOVER = new Set([GrpcStatus.UNAVAILABLE, GrpcStatus.DEADLINE_EXCEEDED, GrpcStatus.INTERNAL, GrpcStatus.CANCELLED]);

/** CPU seconds (user + system) and peak resident memory (MiB) of a process, from /proc. */
function processUsage(pid) {
  try {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    const hwm = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return { cpu: (Number(fields[11]) + Number(fields[12])) / 100, peakMiB: hwm ? Number(hwm[1]) / 1024 : NaN };
  } catch {
    return undefined;
  }
}

/** A counting semaphore, so that N agents do not put N calls on the wire at once. */
function limiter(max) {
  let active = 0;
  const queue = [];
  return async function run(fn) {
    if (active >= max) await new Promise((resolve) => queue.push(resolve));
    active++;
    try {
      return await fn();
    } finally {
      active--;
      queue.shift()?.();
    }
  };
}

function rawCall(client, method, req, deadlineMs) {
  return new Promise((resolve, reject) => {
    client[method](req, new Metadata(), { deadline: new Date(Date.now() + deadlineMs) }, (err, res) => (err ? reject(err) : resolve(res)));
  });
}

/**
 * GET /api/v1/fleet, never throwing: under load an answer can fail or come back cut short,
 * and the bench must go on (an earlier version died here, and its clean-up stopped both
 * collectors, which looked like a collector exiting by itself).
 */
async function getFleet(collector) {
  try {
    const res = await fetch(`${collector.http}/api/v1/fleet`);
    const text = await res.text();
    try {
      return { res, fleet: JSON.parse(text) };
    } catch {
      return { res: { ok: false, status: `${res.status} with a body that is not JSON (${text.length} bytes)` }, fleet: { agents: {}, runs: {} } };
    }
  } catch (err) {
    return { res: { ok: false, status: err.message }, fleet: { agents: {}, runs: {} } };
  }
}

/** One simulated agent: a channel to each collector address, made when first needed; sticks to one until it fails. */
class LightAgent {
  constructor(id, platform, addresses, first, stats) {
    this.id = id;
    this.platform = platform;
    this.addresses = addresses;
    this.current = first;
    this.stats = stats;
    this.clients = new Map();
  }

  client() {
    const address = this.addresses[this.current];
    let c = this.clients.get(address);
    if (c === undefined) {
      // A channel of its own, as a real agent in its own guest has.
      c = new AgentServiceClient(address, credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
      this.clients.set(address, c);
    }
    return c;
  }

  /** A call with failover to the other collector, as the real agent's client does. */
  async call(method, req, deadlineMs = 30_000) {
    for (let attempt = 1; ; attempt++) {
      try {
        return await rawCall(this.client(), method, req, deadlineMs);
      } catch (err) {
        if (!FAILOVER.has(err.code) || attempt >= 40) throw err;
        this.current = (this.current + 1) % this.addresses.length;
        this.stats.failovers++;
        const why = `${method} ${GrpcStatus[err.code]}: ${String(err.details).slice(0, 60)}`;
        this.stats.why.set(why, (this.stats.why.get(why) ?? 0) + 1);
        await new Promise((r) => setTimeout(r, Math.min(50 * attempt, 1000)));
      }
    }
  }

  close() {
    for (const c of this.clients.values()) c.close();
  }
}

async function main() {
  const options = parseArguments(process.argv.slice(2));
  const N = options.agents;
  const pgDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gb-fleet-pg-'));
  const say = (m) => process.stderr.write(`[fleet] ${m}\n`);
  say(`starting PostgreSQL in ${pgDir}`);
  const serverUrl = execFileSync('bash', [path.join(ROOT, 'scripts', 'ensure-postgres.sh'), 'start', pgDir], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  })
    .trim()
    .split('\n')
    .pop();
  const dbName = `guestbench_fleet_${process.pid}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${dbName}`);
  await admin.end();
  const u = new URL(serverUrl);
  u.pathname = `/${dbName}`;
  const dbUrl = u.toString();

  const logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gb-fleet-logs-'));
  say(`collector logs in ${logDir}`);
  const collectors = {};
  const usage = { A: { cpu: 0, peakMiB: 0 }, B: { cpu: 0, peakMiB: 0 } };
  const agents = [];
  let sampler;
  try {
    const start = async (name, ports = {}) => {
      const c = await startCollector({
        db: dbUrl,
        ...ports,
        args: ['--collector-id', name, '--log-level', 'info'],
        logFile: path.join(logDir, `collector-${name}.log`),
      });
      collectors[name] = c;
      // A collector that dies unasked for says how (exit code or signal) and its last words.
      c.child.once('exit', (code, signal) => {
        if (!c.stopping) say(`collector ${name} EXITED by itself: code ${code}, signal ${signal}; stderr ends: ${c.stderr().slice(-2000)}`);
      });
      return c;
    };
    await start('A');
    await start('B');
    const addresses = [collectors.A.grpc, collectors.B.grpc];
    // Peak memory and CPU, polled: a killed process's /proc entry is gone afterwards.
    const last = { A: undefined, B: undefined };
    const cpuBase = { A: 0, B: 0 };
    const poll = () => {
      for (const name of ['A', 'B']) {
        const u2 = processUsage(collectors[name].pid);
        if (u2 === undefined) continue;
        last[name] = u2;
        usage[name].cpu = cpuBase[name] + u2.cpu;
        if (Number.isFinite(u2.peakMiB)) usage[name].peakMiB = Math.max(usage[name].peakMiB, u2.peakMiB);
      }
    };
    sampler = setInterval(poll, 200);

    const stats = { failovers: 0, why: new Map() };
    let runsDone = 0;
    const benchCpu0 = process.cpuUsage();
    const limit = limiter(options.inFlight);
    for (let i = 0; i < N; i++) {
      const side = i % 2; // 0: on A, platform kvm; 1: on B, platform xen
      agents.push(new LightAgent(`fleet-${String(i).padStart(5, '0')}`, side === 0 ? 'kvm' : 'xen', addresses, side, stats));
    }

    // 1. Enroll every agent, and let each wait for a job (WaitForJob marks it idle, in daemon mode).
    say(`enrolling ${N} agents`);
    const t0 = Date.now();
    const enrollFailures = [];
    let enrolled = 0;
    const progress = setInterval(() => {
      const alive = ['A', 'B']
        .map((n) => `${n} ${collectors[n].child.exitCode === null && collectors[n].child.signalCode === null ? 'up' : 'DOWN'}`)
        .join(', ');
      say(
        `${((Date.now() - t0) / 1000).toFixed(0)} s: ${enrolled} enrolled, ${runsDone} runs done, ${stats.failovers} failovers (${alive}); top reason: ${[...stats.why].sort((x, y) => y[1] - x[1])[0]?.join(' × ') ?? '-'}`,
      );
    }, 30_000);
    progress.unref();
    await Promise.all(
      agents.map((a) =>
        limit(() =>
          a.call('enroll', {
            agentId: a.id,
            hostname: a.id,
            declaredPlatform: a.platform,
            agentVersion: '0.1.0',
            detected: { platform: a.platform, evidence: [] },
            inventory: {
              hostname: a.id,
              cpuModel: 'bench',
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
          }),
        ).then(
          () => enrolled++,
          (err) => enrollFailures.push(`${a.id}: ${err.message}`),
        ),
      ),
    );
    const enrollSeconds = (Date.now() - t0) / 1000;
    if (enrollFailures.length > 0) throw new Error(`${enrollFailures.length} enrollments failed, e.g. ${enrollFailures[0]}`);

    const jobCreatedAt = new Map();
    const dispatchMs = [];
    const ackMs = [];
    let ackedIds = 0;
    const runFailures = [];
    let onHalf;
    const half = new Promise((resolve) => (onHalf = resolve));

    async function life(a) {
      let job;
      while (job === undefined) {
        const res = await a.call('waitForJob', { agentId: a.id, waitMs: 55_000 }, 70_000);
        job = res.job;
      }
      // From the moment the job was sent to the other collector until this agent has it.
      dispatchMs.push(Date.now() - jobSentAt[job.platform]);
      const runId = `${a.id}-run`;
      await limit(() =>
        a.call('startRun', { runId, agentId: a.id, profile: 'smoke', label: 'fleet', agentVersion: '0.1.0', startedAtMs: Date.now(), jobId: job.id }),
      );
      await limit(() => a.call('heartbeat', { agentId: a.id, runId, currentBenchmark: 'cpu.b0', takesJobs: true, guestMonotonicMs: 0 }));
      for (let b = 0; b < CALLS_PER_RUN; b++) {
        const samples = Array.from({ length: SAMPLES_PER_CALL }, (_, m) => sample(runId, `cpu.b${b}`, `m${m}`, b + m));
        const res = await limit(async () => {
          const s = process.hrtime.bigint();
          const r = await a.call('submitSamples', { runId, samples });
          ackMs.push(Number(process.hrtime.bigint() - s) / 1e6);
          return r;
        });
        ackedIds += res.ackedSampleIds.length;
      }
      await limit(() =>
        a.call('endRun', {
          runId,
          status: RunStatus.RUN_STATUS_COMPLETED,
          error: '',
          sampleCount: CALLS_PER_RUN * SAMPLES_PER_CALL,
          endedAtMs: Date.now(),
          failedBenchmarks: [],
        }),
      );
      runsDone++;
      if (runsDone === Math.floor(N / 2)) onHalf();
    }
    const jobSentAt = {};
    const lives = agents.map((a) => life(a).catch((err) => runFailures.push(`${a.id}: ${err.message}`)));

    // 2. Wait until the shared presence shows every agent idle in daemon mode, from either collector.
    say('waiting for every agent to wait for a job');
    const waitUntil = Date.now() + 120_000 + N * 10;
    for (;;) {
      const { res, fleet } = await getFleet(collectors.B);
      if (!res.ok) say(`GET /api/v1/fleet on B answered ${res.status}: ${JSON.stringify(fleet).slice(0, 120)}`);
      else if (fleet.agents.daemon >= N) break;
      if (Date.now() > waitUntil) {
        say(`only ${fleet.agents.daemon ?? 'an unknown number'} of ${N} agents are waiting for a job; going on with them`);
        break;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    const fleetBefore = (await getFleet(collectors.A)).fleet;

    // 3. Jobs on the other collector: kvm agents are on A, their job is created on B; xen the other way.
    say('creating the jobs on the collector the agents are not connected to');
    const jobStart = Date.now();
    const createOn = async (collector, platform) => {
      const client = new JobServiceClient(collector.grpc, credentials.createInsecure());
      const sent = Date.now();
      jobSentAt[platform] = sent;
      try {
        let res;
        for (let attempt = 1; res === undefined; attempt++) {
          try {
            res = await rawCall(client, 'createJob', { platform, profile: 'smoke', label: 'fleet' }, 120_000);
          } catch (err) {
            // A collector whose database pool is swamped answers INTERNAL: say so and ask again.
            if (attempt >= 5) throw err;
            say(`CreateJob ${platform} failed (${GrpcStatus[err.code]}: ${err.details}); again`);
          }
        }
        jobCreatedAt.set(res.job.job.id, sent);
        return { id: res.job.job.id, assigned: res.job.assignments.length, createMs: Date.now() - sent };
      } finally {
        client.close();
      }
    };
    const [jobKvm, jobXen] = await Promise.all([createOn(collectors.B, 'kvm'), createOn(collectors.A, 'xen')]);

    // 4. Midway through the runs, kill A and start it again on the same ports.
    let halfTimer;
    await Promise.race([half, Promise.all(lives), new Promise((resolve) => (halfTimer = setTimeout(resolve, 120_000 + N * 20)))]);
    clearTimeout(halfTimer);
    const killAt = { runsDone, at: (Date.now() - jobStart) / 1000 };
    say(`killing collector A (SIGKILL) after ${runsDone} of ${N} runs`);
    poll();
    cpuBase.A = usage.A.cpu;
    await new Promise((resolve) => {
      collectors.A.stopping = true;
      collectors.A.child.once('exit', resolve);
      collectors.A.child.kill('SIGKILL');
    });
    const restartT0 = Date.now();
    await start('A', { grpcPort: collectors.A.grpcPort, httpPort: collectors.A.httpPort });
    const restartSeconds = (Date.now() - restartT0) / 1000;
    say(`A is back after ${restartSeconds.toFixed(1)} s`);

    // An agent whose job never arrives would wait forever: give up on it after a while and say so.
    let watchdog;
    const stragglers = await Promise.race([
      Promise.all(lives).then(() => 0),
      new Promise((resolve) => (watchdog = setTimeout(() => resolve(N - runsDone), 180_000 + N * 20))),
    ]);
    clearTimeout(watchdog);
    if (stragglers > 0) runFailures.push(`${stragglers} agents did not finish their run within the watchdog's time`);
    const runSeconds = (Date.now() - jobStart) / 1000;
    const benchCpu = process.cpuUsage(benchCpu0);
    const benchProcess = { cpu: (benchCpu.user + benchCpu.system) / 1e6, peakMiB: process.resourceUsage().maxRSS / 1024 };
    poll();
    clearInterval(sampler);
    clearInterval(progress);
    sampler = undefined;
    if (runFailures.length > 0) say(`${runFailures.length} agents failed, e.g. ${runFailures[0]}`);

    // 5. What the database holds.
    const c = new pg.Client({ connectionString: dbUrl });
    await c.connect();
    const one = async (sql) => (await c.query(sql)).rows[0];
    const samples = await one('SELECT COUNT(*)::int AS n, COUNT(DISTINCT id)::int AS d FROM samples');
    const runs = await one("SELECT COUNT(*) FILTER (WHERE status = 'completed')::int AS completed, COUNT(*)::int AS n FROM runs");
    const taken = await one('SELECT COUNT(*)::int AS n, COUNT(*) FILTER (WHERE taken_at_ms IS NOT NULL)::int AS taken FROM job_assignments');
    await c.end();
    const fleetAfter = (await getFleet(collectors.B)).fleet;

    dispatchMs.sort((x, y) => x - y);
    ackMs.sort((x, y) => x - y);
    const expected = N * CALLS_PER_RUN * SAMPLES_PER_CALL;
    const result = {
      agents: N,
      machine: `${os.cpus().length} CPUs, load average ${os.loadavg()[0].toFixed(1)} at the end`,
      enrollSeconds,
      enrollPerSecond: N / enrollSeconds,
      jobs: { kvmOnB: jobKvm, xenOnA: jobXen },
      dispatch: { n: dispatchMs.length, p50: percentile(dispatchMs, 50), p99: percentile(dispatchMs, 99), max: dispatchMs[dispatchMs.length - 1] },
      runSeconds,
      samplesPerSecond: samples.n / runSeconds,
      ack: { calls: ackMs.length, p50: percentile(ackMs, 50), p99: percentile(ackMs, 99) },
      kill: { ...killAt, restartSeconds },
      failovers: stats.failovers,
      collectors: usage,
      benchProcess,
      stored: {
        samples: samples.n,
        distinct: samples.d,
        expected,
        ackedIds,
        runsCompleted: runs.completed,
        runs: runs.n,
        assignments: taken.n,
        assignmentsTaken: taken.taken,
      },
      fleetBefore: fleetBefore.agents,
      fleetAfterRuns: fleetAfter.runs,
      failures: runFailures.length,
      failoverReasons: Object.fromEntries([...stats.why].sort((x, y) => y[1] - x[1]).slice(0, 8)),
      exactlyOnce: samples.n === expected && samples.d === expected && runs.completed === N && taken.taken === N && runFailures.length === 0,
    };
    if (options.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    else {
      const f = (x, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : String(x));
      process.stdout.write(`\nbench:fleet — ${N} agents, 2 collectors on one PostgreSQL, ${result.machine}\n\n`);
      process.stdout.write(
        `${table(
          ['measure', 'value'],
          [
            ['enroll (agents/s)', f(result.enrollPerSecond, 0)],
            [
              'fleet before jobs (GET /api/v1/fleet)',
              `${fleetBefore.agents.connected} connected, ${fleetBefore.agents.daemon} daemon, ${JSON.stringify(fleetBefore.agents.byPlatform)}`,
            ],
            [
              'jobs: kvm created on B / xen created on A (agents assigned)',
              `${jobKvm.assigned} / ${jobXen.assigned} (create ${jobKvm.createMs} / ${jobXen.createMs} ms)`,
            ],
            [
              'job dispatch across collectors p50 / p99 / max (ms)',
              `${f(result.dispatch.p50, 0)} / ${f(result.dispatch.p99, 0)} / ${f(result.dispatch.max, 0)}`,
            ],
            ['runs: seconds, samples/s', `${f(runSeconds)} s, ${f(result.samplesPerSecond, 0)}`],
            ['ack p50 / p99 (ms)', `${f(result.ack.p50)} / ${f(result.ack.p99)}`],
            ['A killed after runs / back after (s)', `${killAt.runsDone} / ${f(restartSeconds)}`],
            ['agent calls failed over', String(stats.failovers)],
            ['collector A: CPU s, peak RSS MiB (both lives)', `${f(usage.A.cpu)}, ${f(usage.A.peakMiB, 0)}`],
            ['collector B: CPU s, peak RSS MiB', `${f(usage.B.cpu)}, ${f(usage.B.peakMiB, 0)}`],
            ['this process (all agents): CPU s, peak RSS MiB', `${f(benchProcess.cpu)}, ${f(benchProcess.peakMiB, 0)}`],
            ['samples stored / distinct / expected', `${samples.n} / ${samples.d} / ${expected}`],
            ['runs completed / assignments taken', `${runs.completed} / ${taken.taken} of ${N}`],
            ['exactly one copy of every sample, every run and job done', result.exactlyOnce ? 'yes' : 'NO'],
          ],
        )}\n`,
      );
    }
    if (!result.exactlyOnce) process.exitCode = 1;
  } finally {
    if (sampler !== undefined) clearInterval(sampler);
    for (const a of agents) a.close();
    for (const c of Object.values(collectors)) await c.stop().catch(() => undefined);
    execFileSync('bash', [path.join(ROOT, 'scripts', 'ensure-postgres.sh'), 'stop', pgDir], { stdio: 'ignore' });
  }
}

main().catch((err) => {
  process.stderr.write(`bench:fleet: ${err.stack ?? err}\n`);
  process.exitCode = 1;
});
