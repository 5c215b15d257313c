#!/usr/bin/env node
// bench:fleet — two collectors on one PostgreSQL (started by scripts/ensure-postgres.sh) and
// N light-weight simulated agents (default 10,000; --agents N) in a few child processes
// (--sim-processes), each agent with a gRPC channel of its own, split across the collectors.
// Every agent enrolls and waits for a job, as a daemon agent does; the jobs are created on
// the collector the agents are NOT connected to; each agent then
// sends one short run (start, heartbeat, two calls of two samples, end). Collector A is killed
// with SIGKILL midway through the runs and restarted; its agents fail over to B. Reports
// samples/s, acknowledgement and job dispatch latencies, the collectors' CPU and memory, and
// that exactly one copy of every sample is stored.
'use strict';
const { execFileSync, fork } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { credentials, Metadata, status: GrpcStatus } = require('@grpc/grpc-js');
const { JobServiceClient } = require('@guestbench/proto');
const pg = require('pg');
const { startCollector, percentile, table } = require('./lib/collector-process');

const USAGE = `usage: node bench/fleet.js [--agents N] [--sim-processes N] [--in-flight N] [--ramp-seconds S] [--db-pool N] [--json]
  --agents N         simulated agents (default 10000)
  --sim-processes N  child processes the simulated agents are split over (default 4)
  --in-flight N      at most this many calls of the agents at once over all processes, long polls aside (default 256)
  --ramp-seconds S   agent i of N starts (enrolls, then waits for a job) S·i/N seconds in (default 0: as fast as --in-flight lets them)
  --db-pool N        each collector's PostgreSQL connections (serve --db-pool; default: the collector's own)
  --json             print the results as JSON instead of a table`;

function parseArguments(argv) {
  const out = { agents: 10_000, simProcesses: 4, inFlight: 256, rampSeconds: 0, dbPool: undefined, json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = (min = 1) => {
      const v = argv[++i];
      if (v === undefined || !/^[0-9]+$/.test(v) || Number(v) < min) throw new Error(`${a}: a whole number ≥ ${min}, got ${JSON.stringify(v)}`);
      return Number(v);
    };
    if (a === '--agents') out.agents = value();
    else if (a === '--sim-processes') out.simProcesses = value();
    else if (a === '--in-flight') out.inFlight = value();
    else if (a === '--ramp-seconds') out.rampSeconds = value(0);
    else if (a === '--db-pool') out.dbPool = value();
    else if (a === '--json') out.json = true;
    else if (a === '--help' || a === '-h') {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    } else throw new Error(`unknown argument ${JSON.stringify(a)}\n${USAGE}`);
  }
  if (out.agents < 2) throw new Error('--agents: at least 2 (one per collector)');
  if (out.simProcesses > out.agents) throw new Error(`--sim-processes: at most --agents (${out.agents}), got ${out.simProcesses}`);
  if (out.inFlight < out.simProcesses) throw new Error(`--in-flight: at least --sim-processes (${out.simProcesses}), got ${out.inFlight}`);
  return out;
}

const ROOT = path.resolve(__dirname, '..');
const SAMPLES_PER_CALL = 2;
const CALLS_PER_RUN = 2;

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

async function main() {
  const options = parseArguments(process.argv.slice(2));
  const N = options.agents;
  // The machine's load before this bench adds its own: how quiet it was.
  const loadBefore = os.loadavg();
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
  const sims = [];
  let sampler;
  let progressTimer;
  // Stopped by hand (a long run): leave no agent process, collector or PostgreSQL behind.
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.once(signal, () => {
      say(`${signal}: stopping the agents, the collectors and PostgreSQL`);
      for (const s of sims) s.child.kill('SIGKILL');
      for (const c of Object.values(collectors)) c.child.kill('SIGKILL');
      execFileSync('bash', [path.join(ROOT, 'scripts', 'ensure-postgres.sh'), 'stop', pgDir], { stdio: 'ignore' });
      process.exit(130);
    });
  }
  try {
    const start = async (name, ports = {}) => {
      const c = await startCollector({
        db: dbUrl,
        ...ports,
        args: ['--collector-id', name, '--log-level', 'info', ...(options.dbPool === undefined ? [] : ['--db-pool', String(options.dbPool)])],
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
    // The 1-minute load average during the run, a reading a second: how quiet the machine was.
    const loadSamples = [];
    let lastLoadAt = 0;
    const poll = () => {
      if (Date.now() - lastLoadAt >= 1000) {
        lastLoadAt = Date.now();
        loadSamples.push(os.loadavg()[0]);
      }
      for (const name of ['A', 'B']) {
        const u2 = processUsage(collectors[name].pid);
        if (u2 === undefined) continue;
        last[name] = u2;
        usage[name].cpu = cpuBase[name] + u2.cpu;
        if (Number.isFinite(u2.peakMiB)) usage[name].peakMiB = Math.max(usage[name].peakMiB, u2.peakMiB);
      }
    };
    sampler = setInterval(poll, 200);

    // 1. The simulated agents, in child processes: each agent enrolls and then waits for a job
    //    (WaitForJob marks it idle, in daemon mode), as `guestbench-agent daemon` does.
    const P = options.simProcesses;
    say(`starting ${N} agents in ${P} processes (${options.inFlight} calls in flight at most, ramp ${options.rampSeconds} s)`);
    const t0 = Date.now();
    for (let p = 0; p < P; p++) {
      const work = {
        from: Math.floor((p * N) / P),
        to: Math.floor(((p + 1) * N) / P),
        total: N,
        addresses,
        inFlight: Math.floor(options.inFlight / P),
        rampMs: options.rampSeconds * 1000,
      };
      const child = fork(path.join(__dirname, 'lib', 'fleet-agents.js'), [JSON.stringify(work)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      const sim = { child, progress: { enrolled: 0, enrollFailed: 0, runsDone: 0, runsFailed: 0, failovers: 0 }, done: undefined };
      sim.finished = new Promise((resolve) => {
        child.on('message', (m) => {
          sim.progress = m;
          if (m.type === 'done') {
            sim.done = m;
            resolve();
          }
        });
        child.once('exit', (code, signal) => {
          if (sim.done === undefined) say(`agent process ${p} EXITED without its results: code ${code}, signal ${signal}`);
          resolve();
        });
      });
      sims.push(sim);
    }
    const total = (key) => sims.reduce((n, s) => n + s.progress[key], 0);
    const allFinished = Promise.all(sims.map((s) => s.finished));
    progressTimer = setInterval(() => {
      const alive = ['A', 'B']
        .map((n) => `${n} ${collectors[n].child.exitCode === null && collectors[n].child.signalCode === null ? 'up' : 'DOWN'}`)
        .join(', ');
      say(
        `${((Date.now() - t0) / 1000).toFixed(0)} s: ${total('enrolled')} enrolled, ${total('runsDone')} runs done, ${total('runsFailed')} failed, ${total('failovers')} failovers (${alive}), load ${os.loadavg()[0].toFixed(2)}`,
      );
    }, 30_000);
    progressTimer.unref();
    const tick = () => new Promise((r) => setTimeout(r, 250));
    while (total('enrolled') + total('enrollFailed') < N && sims.some((s) => s.done === undefined)) await tick();
    const enrollSeconds = (Date.now() - t0) / 1000;
    if (total('enrollFailed') > 0) {
      const failures = await Promise.race([allFinished.then(() => sims.flatMap((s) => s.done?.enrollFailures ?? [])), tick()]);
      throw new Error(`${total('enrollFailed')} enrollments failed, e.g. ${failures?.[0] ?? '(not reported yet)'}`);
    }

    // 2. Wait until the shared presence shows every agent idle in daemon mode, from either collector.
    say(`${N} agents enrolled in ${enrollSeconds.toFixed(1)} s; waiting for every agent to wait for a job`);
    const waitUntil = Date.now() + 120_000 + N * 10;
    for (;;) {
      const { res, fleet } = await getFleet(collectors.B);
      if (!res.ok) say(`GET /api/v1/fleet on B answered ${res.status}: ${JSON.stringify(fleet).slice(0, 120)}`);
      else if (fleet.agents.daemon >= N) break;
      if (Date.now() > waitUntil) {
        say(`only ${fleet.agents.daemon ?? 'an unknown number'} of ${N} agents are waiting for a job; going on with them`);
        break;
      }
      await tick();
    }
    const fleetBefore = (await getFleet(collectors.A)).fleet;

    // 3. Jobs on the other collector: kvm agents are on A, their job is created on B; xen the other way.
    say('creating the jobs on the collector the agents are not connected to');
    const jobSentAt = {};
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
        return { id: res.job.job.id, assigned: res.job.assignments.length, createMs: Date.now() - sent };
      } finally {
        client.close();
      }
    };
    const [jobKvm, jobXen] = await Promise.all([createOn(collectors.B, 'kvm'), createOn(collectors.A, 'xen')]);

    // 4. Midway through the runs, kill A and start it again on the same ports.
    const halfBy = Date.now() + 120_000 + N * 20;
    while (total('runsDone') < Math.floor(N / 2) && Date.now() < halfBy && sims.some((s) => s.done === undefined)) await new Promise((r) => setTimeout(r, 5));
    const killAt = { runsDone: total('runsDone'), at: (Date.now() - jobStart) / 1000 };
    say(`killing collector A (SIGKILL) after ${killAt.runsDone} of ${N} runs`);
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
    await Promise.race([allFinished, new Promise((resolve) => (watchdog = setTimeout(resolve, 180_000 + N * 20)))]);
    clearTimeout(watchdog);
    const runSeconds = (Date.now() - jobStart) / 1000;
    for (const s of sims) if (s.done === undefined && s.child.connected) s.child.send({ type: 'report-now' });
    await Promise.race([allFinished, new Promise((r) => setTimeout(r, 10_000))]);
    poll();
    clearInterval(sampler);
    clearInterval(progressTimer);
    sampler = undefined;
    const done = sims.map((s) => s.done).filter((d) => d !== undefined);
    const runFailures = done.flatMap((d) => d.runFailures);
    const failedRuns = done.reduce((n, d) => n + d.runsFailed, 0);
    const stragglers = N - done.reduce((n, d) => n + d.runsDone + d.runsFailed, 0);
    if (stragglers > 0) runFailures.push(`${stragglers} agents did not finish their run within the watchdog's time`);
    if (runFailures.length > 0) say(`${failedRuns} agents failed, e.g. ${runFailures[0]}`);
    const ackedIds = done.reduce((n, d) => n + d.ackedIds, 0);
    const failovers = done.reduce((n, d) => n + d.failovers, 0);
    const why = new Map();
    for (const d of done) for (const [k, v] of d.why) why.set(k, (why.get(k) ?? 0) + v);
    const dispatchMs = done.flatMap((d) => d.jobsReceived.map(([platform, at]) => at - jobSentAt[platform]));
    const ackMs = done.flatMap((d) => d.ackMs);
    const simProcesses = {
      processes: P,
      cpu: done.reduce((n, d) => n + d.cpu, 0),
      peakMiB: Math.max(...done.map((d) => d.peakMiB)),
      peakMiBSum: done.reduce((n, d) => n + d.peakMiB, 0),
    };
    const loadDuring = {
      min: Math.min(...loadSamples),
      median: [...loadSamples].sort((x, y) => x - y)[Math.floor(loadSamples.length / 2)],
      max: Math.max(...loadSamples),
    };

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
      machine: `${os.cpus().length} CPUs, load average ${loadBefore.map((x) => x.toFixed(2)).join(' ')} before, 1-minute ${loadDuring.min.toFixed(2)}–${loadDuring.max.toFixed(2)} (median ${loadDuring.median.toFixed(2)}) during the run`,
      startedAt: new Date(t0).toISOString(),
      options,
      loadBefore: loadBefore.map((x) => Number(x.toFixed(2))),
      loadDuring,
      enrollSeconds,
      enrollPerSecond: N / enrollSeconds,
      jobs: { kvmOnB: jobKvm, xenOnA: jobXen },
      dispatch: { n: dispatchMs.length, p50: percentile(dispatchMs, 50), p99: percentile(dispatchMs, 99), max: dispatchMs[dispatchMs.length - 1] },
      runSeconds,
      samplesPerSecond: samples.n / runSeconds,
      ack: { calls: ackMs.length, p50: percentile(ackMs, 50), p99: percentile(ackMs, 99) },
      kill: { ...killAt, restartSeconds },
      failovers,
      collectors: usage,
      simProcesses,
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
      failures: failedRuns + stragglers,
      failoverReasons: Object.fromEntries([...why].sort((x, y) => y[1] - x[1]).slice(0, 8)),
      exactlyOnce: samples.n === expected && samples.d === expected && runs.completed === N && taken.n === N && taken.taken === N && runFailures.length === 0,
    };
    if (options.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    else {
      const f = (x, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : String(x));
      process.stdout.write(`\nbench:fleet — ${N} agents in ${P} processes, 2 collectors on one PostgreSQL, started ${result.startedAt}, ${result.machine}\n\n`);
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
            ['agent calls failed over', String(failovers)],
            ['collector A: CPU s, peak RSS MiB (both lives)', `${f(usage.A.cpu)}, ${f(usage.A.peakMiB, 0)}`],
            ['collector B: CPU s, peak RSS MiB', `${f(usage.B.cpu)}, ${f(usage.B.peakMiB, 0)}`],
            [
              `agent processes (${P}): CPU s, peak RSS MiB of the largest / all`,
              `${f(simProcesses.cpu)}, ${f(simProcesses.peakMiB, 0)} / ${f(simProcesses.peakMiBSum, 0)}`,
            ],
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
    if (progressTimer !== undefined) clearInterval(progressTimer);
    for (const s of sims) if (s.child.exitCode === null && s.child.signalCode === null) s.child.kill('SIGKILL');
    for (const c of Object.values(collectors)) await c.stop().catch(() => undefined);
    execFileSync('bash', [path.join(ROOT, 'scripts', 'ensure-postgres.sh'), 'stop', pgDir], { stdio: 'ignore' });
  }
}

main().catch((err) => {
  process.stderr.write(`bench:fleet: ${err.stack ?? err}\n`);
  process.exitCode = 1;
});
