#!/usr/bin/env node
// bench:ingest — samples/s one collector takes over gRPC at 2 and at 50 samples per
// SubmitSamples call, on SQLite and on PostgreSQL (started by scripts/ensure-postgres.sh),
// for this build and, with --before, another build side by side; and the floor: a bare
// grpc-js server of the same service that decodes each call and answers at once.
// The load comes from --generators separate processes, each sending over several channels
// with requests encoded in advance (see lib/ingest-worker.js).
'use strict';
const { execFileSync, fork, spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const Database = require('better-sqlite3');
const pg = require('pg');
const { startCollector, percentile, table } = require('./lib/collector-process');

const ROOT = path.resolve(__dirname, '..');
const USAGE = `usage: node bench/ingest-rate.js [--before CLI] [--only sqlite|postgres|floor] [--generators N] [--channels N] [--agents N] [--json]
  --before CLI      another build's collector/dist/cli/main.js, measured beside this one
  --only WHAT       measure only this backend (repeatable)
  --generators N    load-generator processes (default 2)
  --channels N      gRPC channels (TCP connections) per generator (default 4)
  --agents N        agents per generator, each with its own run, one call at a time (default 32)
  --cpu-prof DIR    write a CPU profile of each collector into DIR (node --cpu-prof)
  --json            print the rows as JSON`;

function parseArguments(argv) {
  const out = { before: undefined, only: [], generators: 2, channels: 4, agents: 32, cpuProf: undefined, json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a}: needs a value\n${USAGE}`);
      return v;
    };
    const count = () => {
      const v = next();
      if (!/^[0-9]+$/.test(v) || Number(v) < 1) throw new Error(`${a}: a whole number ≥ 1, got ${JSON.stringify(v)}`);
      return Number(v);
    };
    if (a === '--before') {
      out.before = path.resolve(next());
      if (!fs.existsSync(out.before)) throw new Error(`--before: ${out.before} does not exist (build that tree with \`npx tsc -b collector\` first)`);
    } else if (a === '--only') {
      const v = next();
      if (!['sqlite', 'postgres', 'floor'].includes(v)) throw new Error(`--only: sqlite, postgres or floor, got ${JSON.stringify(v)}`);
      out.only.push(v);
    } else if (a === '--generators') out.generators = count();
    else if (a === '--channels') out.channels = count();
    else if (a === '--agents') out.agents = count();
    else if (a === '--cpu-prof') out.cpuProf = path.resolve(next());
    else if (a === '--json') out.json = true;
    else if (a === '--help' || a === '-h') {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    } else throw new Error(`unknown argument ${JSON.stringify(a)}\n${USAGE}`);
  }
  return out;
}

/** CPU seconds (user + system) a process has used, from /proc. */
function cpuSeconds(pid) {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Every generator enrolled and encoded its calls: then all start at once, and the clock runs. */
async function drive(address, pid, { generators, channels, agents, callsPerAgent, samplesPerCall, tag }) {
  const workers = Array.from({ length: generators }, (_, g) => {
    const agentIds = Array.from({ length: agents }, (_, i) => `${tag}-g${g}-a${i}`);
    const child = fork(
      path.join(__dirname, 'lib', 'ingest-worker.js'),
      [JSON.stringify({ address, agentIds, callsPerAgent, samplesPerCall, channels, tag: `${tag}-${g}` })],
      { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
    );
    const messages = [];
    let wake;
    child.on('message', (m) => {
      messages.push(m);
      wake?.();
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    const next = async () => {
      while (messages.length === 0) {
        await Promise.race([
          new Promise((r) => (wake = r)),
          exited.then(() => {
            throw new Error(`a load generator exited early (code ${child.exitCode})`);
          }),
        ]);
      }
      return messages.shift();
    };
    return { child, next };
  });
  for (const w of workers) await w.next();
  const cpu0 = cpuSeconds(pid);
  const t0 = process.hrtime.bigint();
  for (const w of workers) w.child.send('go');
  const results = await Promise.all(workers.map((w) => w.next()));
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const collectorCpu = cpuSeconds(pid) - cpu0;
  const generatorCpu = results.reduce((sum, r) => sum + r.cpuSeconds, 0);
  for (const w of workers) if (w.child.connected) w.child.disconnect();
  const latencies = results.flatMap((r) => r.latencies).sort((a, b) => a - b);
  return {
    seconds,
    collectorCpu,
    generatorCpu,
    calls: results.reduce((n, r) => n + r.calls, 0),
    acked: results.reduce((n, r) => n + r.acked, 0),
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
  };
}

async function countStored(db) {
  if (db.startsWith('postgres')) {
    const c = new pg.Client({ connectionString: db });
    await c.connect();
    try {
      const { rows } = await c.query('SELECT COUNT(*)::int AS n, COUNT(DISTINCT id)::int AS d FROM samples');
      return { stored: rows[0].n, distinct: rows[0].d };
    } finally {
      await c.end();
    }
  }
  const d = new Database(db, { readonly: true });
  try {
    return { stored: d.prepare('SELECT COUNT(*) AS n FROM samples').get().n, distinct: d.prepare('SELECT COUNT(DISTINCT id) AS n FROM samples').get().n };
  } finally {
    d.close();
  }
}

async function startFloor() {
  const child = spawn(process.execPath, [path.join(__dirname, 'lib', 'empty-ingest-server.js')], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes('\n')) resolve(JSON.parse(out).port);
    });
    child.once('exit', (code) => reject(new Error(`the floor server exited (code ${code})`)));
  });
  return {
    grpc: `127.0.0.1:${port}`,
    pid: child.pid,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', resolve);
        child.kill('SIGTERM');
      }),
  };
}

async function main() {
  const options = parseArguments(process.argv.slice(2));
  const want = (k) => options.only.length === 0 || options.only.includes(k);
  const say = (m) => process.stderr.write(`[ingest] ${m}\n`);
  const shapes = [
    { samplesPerCall: 2, callsPerAgent: 160 },
    { samplesPerCall: 50, callsPerAgent: 40 },
  ];
  const builds = [...(options.before !== undefined ? [{ name: 'before', cli: options.before }] : []), { name: 'this build', cli: undefined }];
  let pgDir;
  let serverUrl;
  const rows = [];
  let n = 0;
  try {
    if (want('postgres')) {
      pgDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gb-ingest-pg-'));
      serverUrl = execFileSync('bash', [path.join(ROOT, 'scripts', 'ensure-postgres.sh'), 'start', pgDir], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'inherit'],
      })
        .trim()
        .split('\n')
        .pop();
    }
    const backends = [...(want('sqlite') ? ['sqlite'] : []), ...(want('postgres') ? ['postgres'] : [])];
    for (const shape of shapes) {
      if (want('floor')) {
        say(`floor (bare grpc-js), ${shape.samplesPerCall}/call`);
        const f = await startFloor();
        try {
          const r = await drive(f.grpc, f.pid, { ...options, ...shape, tag: `floor${n++}` });
          rows.push({
            backend: 'none (bare grpc-js server)',
            build: 'floor',
            ...shape,
            ...r,
            expected: r.calls * shape.samplesPerCall,
            stored: NaN,
            distinct: NaN,
          });
        } finally {
          await f.stop();
        }
      }
      for (const backend of backends) {
        for (const build of builds) {
          let db;
          if (backend === 'postgres') {
            const name = `gb_ingest_${process.pid}_${n}`;
            const admin = new pg.Client({ connectionString: serverUrl });
            await admin.connect();
            await admin.query(`CREATE DATABASE ${name}`);
            await admin.end();
            const u = new URL(serverUrl);
            u.pathname = `/${name}`;
            db = u.toString();
          }
          say(`${backend}, ${build.name}, ${shape.samplesPerCall}/call`);
          const c = await startCollector({
            cli: build.cli,
            args: ['--net-sink', 'off'],
            nodeArgs: options.cpuProf === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', options.cpuProf],
            ...(db !== undefined ? { db } : {}),
          });
          try {
            const r = await drive(c.grpc, c.pid, { ...options, ...shape, tag: `run${n++}` });
            const expected = options.generators * options.agents * shape.callsPerAgent * shape.samplesPerCall;
            rows.push({ backend, build: build.name, ...shape, ...r, expected, ...(await countStored(c.db)) });
          } finally {
            await c.stop();
          }
        }
      }
    }
  } finally {
    if (pgDir !== undefined) execFileSync('bash', [path.join(ROOT, 'scripts', 'ensure-postgres.sh'), 'stop', pgDir], { stdio: 'ignore' });
  }
  for (const r of rows) {
    r.samplesPerSecond = r.expected / r.seconds;
    r.samplesPerCollectorCpuSecond = r.expected / r.collectorCpu;
    r.exactlyOnce = r.build === 'floor' ? undefined : r.stored === r.expected && r.distinct === r.expected && r.acked === r.expected;
    if (r.exactlyOnce === false) process.exitCode = 1;
  }
  if (options.json) {
    process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    return;
  }
  const load = os.loadavg()[0].toFixed(1);
  process.stdout.write(
    `\nbench:ingest — one collector, ${options.generators} generator processes × ${options.channels} channels × ${options.agents} agents (one call in flight each); ${os.cpus().length} CPUs, load average ${load} at the end\n\n`,
  );
  process.stdout.write(
    `${table(
      [
        'store',
        'build',
        'samples/call',
        'calls',
        'seconds',
        'samples/s',
        'collector CPU s',
        'samples per collector CPU s',
        'generators CPU s',
        'ack p50 ms',
        'ack p99 ms',
        'stored once',
      ],
      rows.map((r) => [
        r.backend,
        r.build,
        r.samplesPerCall,
        r.calls,
        r.seconds.toFixed(2),
        Math.round(r.samplesPerSecond),
        r.collectorCpu.toFixed(2),
        Math.round(r.samplesPerCollectorCpuSecond),
        r.generatorCpu.toFixed(2),
        r.p50.toFixed(1),
        r.p99.toFixed(1),
        r.exactlyOnce === undefined ? '–' : r.exactlyOnce ? 'yes' : 'NO',
      ]),
    )}\n`,
  );
  process.stdout.write('\ngoal: ≥ 10,000 samples/s at 2/call, ≥ 40,000 at 50/call\n');
}

main().catch((err) => {
  process.stderr.write(`bench:ingest: ${err.stack ?? err}\n`);
  process.exitCode = 1;
});
