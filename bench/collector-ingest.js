#!/usr/bin/env node
// bench:collector — the collector's speed goals (issue 7) and its load test (issue 8):
//   1. ingest: 50 concurrent agents over gRPC into SQLite; goal ≥ 20,000 samples/s
//   2. load: 200 concurrent agents, each sending a full run (and some resends); nothing lost
//      or duplicated; throughput and p99 acknowledgement latency
//   3. compare over a store of 10,000 runs; goal p95 < 100 ms (HTTP, end to end)
// The collector runs as its own process; the agents run in two more.
'use strict';
const os = require('node:os');
const path = require('node:path');
const Database = require('better-sqlite3');
const { startCollector, percentile, table } = require('./lib/collector-process');

const args = new Set(process.argv.slice(2));
const only = ['ingest', 'load', 'compare'].filter((k) => args.has(`--${k}`));
const parts = only.length > 0 ? only : ['ingest', 'load', 'compare'];

/** CPU seconds (user + system) the process has used, from /proc. */
function cpuSeconds(pid) {
  const fields = require('node:fs').readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
}

const GENERATORS = 2;

function runWorker(job) {
  return new Promise((resolve, reject) => {
    const child = require('node:child_process').spawn(process.execPath, [require('node:path').join(__dirname, 'lib', 'agent-worker.js'), JSON.stringify(job)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`agent worker exited ${code}`))));
  });
}

async function agentsPhase(name, { agents, runs, benchmarks, metricsPerBenchmark, resend }) {
  const c = await startCollector();
  try {
    const latencies = [];
    const cpu0 = cpuSeconds(c.pid);
    const t0 = process.hrtime.bigint();
    // The agents are spread over GENERATORS processes: one JavaScript thread could not keep
    // the collector busy, and the bench would measure itself.
    const ids = Array.from({ length: agents }, (_, i) => `${name}-${metricsPerBenchmark}-agent-${i}`);
    const shares = Array.from({ length: GENERATORS }, (_, g) => ids.filter((_, i) => i % GENERATORS === g));
    const outputs = await Promise.all(
      shares.map((agentIds) => runWorker({ agentIds, agent: { address: c.grpc, label: '', runs, benchmarks, metricsPerBenchmark, resend } })),
    );
    const results = outputs.map((o) => ({ acked: o.acked }));
    for (const o of outputs) latencies.push(...o.latencies);
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const collectorCpu = cpuSeconds(c.pid) - cpu0;
    const sent = agents * runs * benchmarks * metricsPerBenchmark;
    const acked = results.reduce((n, r) => n + r.acked, 0);
    const db = new Database(c.db, { readonly: true });
    const stored = db.prepare('SELECT COUNT(*) AS n FROM samples').get().n;
    const distinct = db.prepare('SELECT COUNT(DISTINCT id) AS n FROM samples').get().n;
    const completed = db.prepare("SELECT COUNT(*) AS n FROM runs WHERE status = 'completed'").get().n;
    db.close();
    latencies.sort((a, b) => a - b);
    return {
      name,
      agents,
      sent,
      acked,
      stored,
      distinct,
      completed,
      runs: agents * runs,
      seconds,
      rate: stored / seconds,
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
      calls: latencies.length,
      batch: metricsPerBenchmark,
      perCpuSecond: stored / collectorCpu,
      collectorCpu,
    };
  } finally {
    await c.stop();
  }
}

async function comparePhase({ runs, samplesPerRun, queries }) {
  const dir = require('node:fs').mkdtempSync(path.join(os.tmpdir(), 'gb-cmp-'));
  const dbFile = path.join(dir, 'compare.db');
  // Seed through the collector's own store (its schema, its migrations) in-process, fast.
  const { SqliteStore } = require('@guestbench/collector');
  const store = new SqliteStore(dbFile);
  const platforms = ['native', 'kvm', 'xen', 'vmware', 'qemu'];
  const labels = ['', 'a', 'b', 'c'];
  const t0 = Date.now();
  for (const p of platforms) {
    await store.upsertAgent({
      id: `seed-${p}`,
      hostname: p,
      declaredPlatform: p,
      detectedPlatform: p,
      platform: p,
      evidence: [],
      inventory: {
        hostname: p,
        cpuModel: 'c',
        cpus: 2,
        memoryBytes: 1,
        kernel: 'k',
        os: 'o',
        arch: 'x',
        clocksource: 'tsc',
        cpuFlags: '',
        systemVendor: '',
        systemModel: '',
        nodeVersion: '',
      },
      agentVersion: '0.1.0',
      enrolledAtMs: 1,
    });
  }
  for (let r = 0; r < runs; r++) {
    const p = platforms[r % platforms.length];
    const runId = `seed-run-${r}`;
    await store.startRun({
      id: runId,
      agentId: `seed-${p}`,
      label: labels[Math.floor(r / platforms.length) % labels.length],
      profile: 'quick',
      agentVersion: '0.1.0',
      startedAtMs: r,
      jobId: '',
    });
    const samples = Array.from({ length: samplesPerRun }, (_, i) => {
      const v = 100 + ((r * 7 + i * 13) % 11);
      const trials = [v, v + 1, v - 1, v + 0.5, v - 0.5];
      return {
        id: `${runId}:${i}`,
        runId,
        benchmarkId: `${['cpu', 'mem', 'sys', 'disk', 'net', 'web'][i % 6]}.b${i}`,
        metric: 'm',
        unit: 'ops/s',
        direction: i % 3 === 0 ? 'lower' : 'higher',
        value: v,
        trials,
        trialCount: 5,
        rsd: 0.01,
        stealFraction: 0,
        parameters: { size: '1' },
        primary: true,
        clocksource: 'tsc',
        durationSeconds: 1,
        finishedAtMs: r,
        flags: [],
      };
    });
    await store.insertSamples(runId, samples);
    await store.endRun(runId, { status: 'completed', error: '', endedAtMs: r + 1 });
  }
  await store.close();
  const seedSeconds = (Date.now() - t0) / 1000;
  const c = await startCollector({ dir, db: dbFile });
  try {
    const times = [];
    let groups = 0;
    for (let i = 0; i < queries; i++) {
      const t = process.hrtime.bigint();
      const res = await fetch(`${c.http}/api/v1/compare?baseline=native`);
      const body = await res.json();
      times.push(Number(process.hrtime.bigint() - t) / 1e6);
      if (!res.ok) throw new Error(`compare failed: ${JSON.stringify(body)}`);
      groups = body.groups.length;
    }
    times.sort((a, b) => a - b);
    return {
      runs,
      samples: runs * samplesPerRun,
      groups,
      seedSeconds,
      queries,
      p50: percentile(times, 50),
      p95: percentile(times, 95),
      max: times[times.length - 1],
    };
  } finally {
    await c.stop();
  }
}

(async () => {
  console.log(
    `machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? '?'}, load ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  const rows = [];
  if (parts.includes('ingest')) {
    // As the agent streams (one call per benchmark, ~2 samples), and as a spool flush delivers (many per call).
    rows.push(await agentsPhase('ingest', { agents: 50, runs: 4, benchmarks: 25, metricsPerBenchmark: 2 }));
    rows.push(await agentsPhase('ingest', { agents: 50, runs: 10, benchmarks: 4, metricsPerBenchmark: 50 }));
  }
  if (parts.includes('load')) rows.push(await agentsPhase('load', { agents: 200, runs: 1, benchmarks: 25, metricsPerBenchmark: 2, resend: true }));
  if (rows.length > 0) {
    console.log('\nIngest over gRPC into SQLite (collector in its own process; one SubmitSamples per benchmark)');
    console.log(
      table(
        [
          'phase',
          'agents',
          'samples/call',
          'runs',
          'samples sent',
          'acked',
          'stored',
          'distinct',
          'completed runs',
          'seconds',
          'samples/s',
          'collector CPU s',
          'samples per collector CPU s',
          'ack p50 ms',
          'ack p99 ms',
        ],
        rows.map((r) => [
          r.name,
          r.agents,
          r.batch,
          r.runs,
          r.sent,
          r.acked,
          r.stored,
          r.distinct,
          r.completed,
          r.seconds.toFixed(2),
          Math.round(r.rate),
          r.collectorCpu.toFixed(2),
          Math.round(r.perCpuSecond),
          r.p50.toFixed(1),
          r.p99.toFixed(1),
        ]),
      ),
    );
    for (const r of rows) {
      const ok = r.stored === r.sent && r.distinct === r.sent && r.acked >= r.sent && r.completed === r.runs;
      console.log(
        `${r.name} (${r.batch}/call): ${ok ? 'nothing lost, nothing duplicated' : 'MISMATCH: samples lost or duplicated'}${r.name === 'ingest' ? `; goal ≥ 20,000 samples/s: ${r.rate >= 20_000 ? 'met' : 'NOT met'}` : ''}`,
      );
      if (!ok) process.exitCode = 1;
    }
  }
  if (parts.includes('compare')) {
    const r = await comparePhase({ runs: 10_000, samplesPerRun: 30, queries: 40 });
    console.log(
      `\nCompare over ${r.runs} runs (${r.samples} samples, ${r.groups} groups), GET /api/v1/compare?baseline=native, ${r.queries} queries (store seeded in ${r.seedSeconds.toFixed(1)} s)`,
    );
    console.log(
      table(['p50 ms', 'p95 ms', 'max ms', 'goal p95 < 100 ms'], [[r.p50.toFixed(1), r.p95.toFixed(1), r.max.toFixed(1), r.p95 < 100 ? 'met' : 'NOT met']]),
    );
  }
})().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
