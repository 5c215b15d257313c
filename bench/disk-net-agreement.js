#!/usr/bin/env node
// Benchmark of guestbench itself: do its disk and network numbers agree with fio and iperf3
// on this machine? Each measurement runs guestbench's benchmark and the reference tool's
// matching job side by side, alternating which goes first, for several rounds; the verdict
// is on the median of the per-round ratios, so drift and neighbours' load hit both alike.
// fio works on guestbench's own test files (same blocks of the device, same size), and
// when root, everything runs at nice -20 so that other work on the machine disturbs less.
// Uses the built agent (agent/dist) through its public entry and its CLI.
//
// With --control, every round also runs the reference tool a second time, and the table gets
// the reference against itself: how far apart two runs of the same tool land on this machine,
// which is the yardstick for reading the agreement rows.
//
// fio's 1 MiB jobs get a buffer whose pages lie apart in physical memory, as guestbench's
// do (--fio-buffer scattered, the default): how many requests a 1 MiB O_DIRECT I/O becomes
// depends on that layout, and on this machine's virtual disk it moved sequential rates by
// 1.3-2.3x. Every round also counts the block device's requests per MiB for each tool, so
// the table shows whether both sent the device the same requests.
//
// Usage: node bench/disk-net-agreement.js [--dir DIR] [--file-mib N] [--seconds S] [--omit S]
//          [--streams N] [--rounds N] [--only disk|net] [--control] [--fio-buffer scattered|default]
//          [--no-priority] [--json]
'use strict';
const { execFileSync, spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { bootstrapMedian, median } = require('./lib/median');
const { parseArgs } = require('node:util');
const { blockStatFile, createScatteredBufferFile, readBlockStat, requestsPerMiB, sharedMemoryDir, MiB } = require('./lib/block-requests');

const REPO = path.join(__dirname, '..');
const AGENT = path.join(REPO, 'agent', 'dist', 'index.js');
const AGENT_CLI = path.join(REPO, 'agent', 'dist', 'cli', 'main.js');

const HELP = `Usage: node bench/disk-net-agreement.js [options]
  --dir DIR        folder for the test files of both tools (default /var/tmp/guestbench)
  --file-mib N     test file size, the same for both (default 1024)
  --seconds S      length of each measurement (default 2)
  --omit S         network: seconds left out at the start, iperf3 -O (default 1)
  --streams N      network: parallel streams, iperf3 -P (default 1)
  --rounds N       measurements per tool, alternating which goes first (default 15)
  --only WHAT      disk or net (default both)
  --control        also run the reference tool twice per round and show it against itself
  --fio-buffer B   scattered: fio's 1 MiB jobs use a buffer whose pages lie apart in physical
                   memory, like guestbench's (default); default: fio's own buffer, wherever
                   the kernel puts it (the request count per MiB then varies from run to run)
  --no-priority    do not raise the priority (by default nice -20 when allowed, for both tools)
  --json           the table as JSON
Run bench/scripts/ensure-reference-tools.sh first (npm run bench:disk-net does).`;

function parseOptions(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      dir: { type: 'string' },
      'file-mib': { type: 'string' },
      seconds: { type: 'string' },
      omit: { type: 'string' },
      streams: { type: 'string' },
      rounds: { type: 'string' },
      only: { type: 'string' },
      control: { type: 'boolean' },
      'fio-buffer': { type: 'string' },
      json: { type: 'boolean' },
      'no-priority': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    process.exit(0);
  }
  const number = (key, fallback, min) => {
    const v = values[key] === undefined ? fallback : Number(values[key]);
    if (!Number.isFinite(v) || v < min) throw new Error(`--${key}: a number ≥ ${min}, got "${values[key]}"`);
    return v;
  };
  const only = values.only ?? 'both';
  if (!['disk', 'net', 'both'].includes(only)) throw new Error(`--only: disk or net, got "${only}"`);
  const fioBuffer = values['fio-buffer'] ?? 'scattered';
  if (!['scattered', 'default'].includes(fioBuffer)) throw new Error(`--fio-buffer: scattered or default, got "${fioBuffer}"`);
  return {
    dir: path.resolve(values.dir ?? path.join(fs.existsSync('/var/tmp') ? '/var/tmp' : os.tmpdir(), 'guestbench')),
    fileMiB: Math.round(number('file-mib', 1024, 16)),
    seconds: number('seconds', 2, 0.5),
    omit: number('omit', 1, 0),
    streams: Math.round(number('streams', 1, 1)),
    rounds: Math.round(number('rounds', 15, 1)),
    only,
    control: values.control === true,
    fioBuffer,
    priority: values['no-priority'] !== true,
    json: values.json === true,
  };
}

function log(line) {
  process.stderr.write(`${line}\n`);
}

/** Runs fio with `args` plus JSON output and returns its first job. */
function fio(args) {
  const out = execFileSync('fio', [...args, '--output-format=json'], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  // fio may print notes before the JSON.
  return JSON.parse(out.slice(out.indexOf('{'))).jobs[0];
}

/**
 * fio's job matching a guestbench disk benchmark, on that benchmark's own test file;
 * `bufferFile`, when given, is the I/O memory of the 1 MiB jobs (see createScatteredBufferFile).
 */
function fioJob(id, file, fileMiB, seconds, bufferFile) {
  const common = [
    `--filename=${file}`,
    `--size=${fileMiB}M`,
    '--ioengine=psync',
    '--iodepth=1',
    '--time_based',
    `--runtime=${Math.round(seconds * 1000)}ms`,
    '--name=ref',
  ];
  const specific = {
    'disk.seq_write': ['--rw=write', '--bs=1M', '--direct=1', '--end_fsync=1'],
    'disk.seq_read': ['--rw=read', '--bs=1M', '--direct=1'],
    'disk.rand_read_4k': ['--rw=randread', '--bs=4k', '--direct=1'],
    'disk.rand_write_4k': ['--rw=randwrite', '--bs=4k', '--direct=1', '--end_fsync=1'],
    'disk.fsync': ['--rw=write', '--bs=4k', '--direct=0', '--fdatasync=1'],
  };
  const memory = bufferFile !== undefined && SEQUENTIAL[id] !== undefined ? [`--iomem=mmapshared:${bufferFile}`] : [];
  return [...common, ...specific[id], ...memory];
}

/** The test file guestbench created for `id` in `dir` (named by test-file.ts). */
function guestbenchFile(dir, id) {
  const tag = id.replace(/^disk\./, '');
  const name = fs.readdirSync(dir).find((n) => n.startsWith(`guestbench-${tag}-${process.pid}-`) && n.endsWith('.tmp'));
  if (name === undefined) throw new Error(`no test file of ${id} in ${dir}`);
  return path.join(dir, name);
}

/** The 1 MiB benchmarks, with the direction whose requests per MiB the table shows. */
const SEQUENTIAL = { 'disk.seq_write': 'write', 'disk.seq_read': 'read' };

const pct = (job, side, p) => job[side].clat_ns.percentile[p.toFixed(6)] / 1000;

/**
 * What is compared: guestbench metric, the same quantity from fio's job, the tolerance the
 * issue sets (undefined: shown for information).
 */
const DISK_ROWS = [
  { id: 'disk.seq_write', metric: 'throughput', unit: 'MB/s', ref: (j) => j.write.bw_bytes / 1e6, tolerance: 0.2, tool: 'fio' },
  { id: 'disk.seq_read', metric: 'throughput', unit: 'MB/s', ref: (j) => j.read.bw_bytes / 1e6, tolerance: 0.2, tool: 'fio' },
  { id: 'disk.rand_read_4k', metric: 'iops', unit: 'IOPS', ref: (j) => j.read.iops, tolerance: 0.25, tool: 'fio' },
  { id: 'disk.rand_read_4k', metric: 'p50', unit: 'µs', ref: (j) => pct(j, 'read', 50) },
  { id: 'disk.rand_read_4k', metric: 'p99', unit: 'µs', ref: (j) => pct(j, 'read', 99) },
  { id: 'disk.rand_write_4k', metric: 'iops', unit: 'IOPS', ref: (j) => j.write.iops },
  // One write + fdatasync per operation in both: the time per write is the time per commit.
  { id: 'disk.fsync', metric: 'latency', unit: 'µs', ref: (j) => 1e6 / j.write.iops },
];

/** Starts `guestbench-agent serve-net` on loopback; resolves with its port and a stop function. */
function startServeNet() {
  return new Promise((resolve, reject) => {
    // The IPC channel makes serve-net exit with this script, however it ends.
    const child = spawn(process.execPath, [AGENT_CLI, 'serve-net', '--listen', '127.0.0.1:0', '--json'], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      if (!out.includes('\n')) return;
      const { listening } = JSON.parse(out.split('\n')[0]);
      resolve({ address: listening, stop: () => new Promise((done) => (child.once('exit', done), child.kill('SIGINT'))) });
    });
    child.once('exit', (code) => reject(new Error(`serve-net exited with ${code}`)));
  });
}

/** Starts `iperf3 -s` on a free loopback port. */
async function startIperf3Server() {
  const port = await new Promise((resolve) => {
    const s = require('node:net')
      .createServer()
      .listen(0, '127.0.0.1', () => {
        const p = s.address().port;
        s.close(() => resolve(p));
      });
  });
  const child = spawn('iperf3', ['-s', '-B', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
  // iperf3 has no readiness signal: wait until it accepts a connection.
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise((resolve) => {
      const c = require('node:net').connect(port, '127.0.0.1', () => (c.destroy(), resolve(true)));
      c.on('error', () => resolve(false));
    });
    if (ok) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return { port, stop: () => new Promise((done) => (child.once('exit', done), child.kill('SIGTERM'))) };
}

function profileFor(seconds) {
  return {
    name: 'agreement',
    description: '',
    warmupSeconds: 0,
    trialSeconds: seconds,
    minTrials: 3,
    maxTrials: 3,
    rsdThreshold: 0.5,
    budgetSeconds: 1,
    benchmarks: [],
    settings: {},
  };
}

async function prepare(agent, id, raw, o, targets) {
  const def = agent.getBenchmark(id);
  return def.prepare(def.parseSettings(raw), { profile: profileFor(o.seconds), signal: new AbortController().signal, targets });
}

/**
 * Measures each row `o.rounds` times with each tool, the order rotating from round to round so
 * that no tool always goes first. `gb(id)` and `ref(id)` give one measurement: an object of
 * metric values. With --control the reference runs a second time in each round ('ref2').
 */
async function alternate(o, ids, gb, ref) {
  const values = {};
  for (const id of ids) values[id] = { gb: [], ref: [], ref2: [] };
  const who = o.control ? ['gb', 'ref', 'ref2'] : ['gb', 'ref'];
  for (let round = 0; round < o.rounds; round++) {
    for (const id of ids) {
      const order = who.map((_, i) => who[(i + round) % who.length]);
      for (const w of order) {
        values[id][w].push(w === 'gb' ? await gb(id) : await ref(id));
      }
      log(`  round ${round + 1}/${o.rounds} ${id} done`);
    }
  }
  return values;
}

function row(measurement, unit, a, b, tolerance, control, requests) {
  const ratios = a.map((v, i) => v / b[i]);
  const ratio = median(ratios);
  const [low, high] = bootstrapMedian(ratios);
  return {
    measurement,
    unit,
    guestbench: median(a),
    reference: median(b),
    ratio,
    interval: [low, high],
    ratioMin: Math.min(...ratios),
    ratioMax: Math.max(...ratios),
    tolerance,
    verdict: control ? 'control' : tolerance === undefined ? 'info' : Math.abs(ratio - 1) <= tolerance ? 'agrees' : 'DISAGREES',
    rounds: control ? { reference: b, again: a } : { guestbench: a, reference: b },
    // Requests per MiB the device got in each tool's rounds (a, b as the values).
    requestsPerMiB: requests,
  };
}

/** Requests per MiB over one tool's rounds (median, lowest, highest), or undefined where none was counted. */
function requestStats(measurements) {
  const counted = measurements.map((m) => m[REQUESTS]).filter((v) => v !== undefined);
  return counted.length === 0 ? undefined : { median: median(counted), min: Math.min(...counted), max: Math.max(...counted), rounds: counted };
}

function summarise(rows, values) {
  const out = [];
  for (const r of rows) {
    const v = values[r.id];
    const gbv = v.gb.map((m) => m[r.metric]);
    const refv = v.ref.map(r.ref);
    const requests = (a, b) => (SEQUENTIAL[r.id] === undefined ? undefined : [requestStats(a), requestStats(b)]);
    out.push(row(`${r.id} ${r.metric}`, r.unit, gbv, refv, r.tolerance, false, requests(v.gb, v.ref)));
    if (v.ref2.length > 0 && r.tolerance !== undefined) {
      out.push(row(`  ${r.tool} against itself`, r.unit, v.ref2.map(r.ref), refv, r.tolerance, true, requests(v.ref2, v.ref)));
    }
  }
  return out;
}

/** Where a measurement keeps the device's requests per MiB during it. */
const REQUESTS = Symbol('requestsPerMiB');

/** Runs `measure` and notes the requests per MiB the device got in `direction` meanwhile. */
async function counted(statFile, direction, measure) {
  const before = readBlockStat(statFile);
  const result = await measure();
  if (direction !== undefined) result[REQUESTS] = requestsPerMiB(before, readBlockStat(statFile), direction);
  return result;
}

async function diskPart(agent, o) {
  fs.mkdirSync(o.dir, { recursive: true });
  const ids = [...new Set(DISK_ROWS.map((r) => r.id))];
  const prepared = {};
  const jobs = {};
  const statFile = blockStatFile(o.dir);
  if (statFile === undefined) log(`disk: no block-device counters for ${o.dir}; requests per MiB are not shown`);
  let bufferFile;
  if (o.fioBuffer === 'scattered') {
    const shm = sharedMemoryDir();
    if (shm === undefined) throw new Error('--fio-buffer scattered needs /dev/shm (tmpfs); pass --fio-buffer default to run fio with its own buffer');
    bufferFile = path.join(shm, `guestbench-fio-buffer-${process.pid}`);
    const file = bufferFile;
    process.once('exit', () => fs.rmSync(file, { force: true }));
    // fio maps 1 MiB plus a page for alignment; a page more does no harm.
    createScatteredBufferFile(bufferFile, MiB + 2 * 4096);
  }
  try {
    log(`disk: preparing guestbench's test files (${o.fileMiB} MiB; 16 MiB for disk.fsync) in ${o.dir}`);
    for (const id of ids) {
      const fileMiB = id === 'disk.fsync' ? 16 : o.fileMiB;
      prepared[id] = await prepare(agent, id, { fileMiB }, o, { diskDir: o.dir });
      // The same blocks of the device for both tools. fio only reads the files guestbench
      // reads (and checks), and only writes those guestbench writes.
      jobs[id] = fioJob(id, guestbenchFile(o.dir, id), fileMiB, o.seconds, bufferFile);
    }
    const values = await alternate(
      o,
      ids,
      (id) => counted(statFile, SEQUENTIAL[id], async () => ({ ...(await prepared[id].trial()) })),
      (id) => counted(statFile, SEQUENTIAL[id], async () => fio(jobs[id])),
    );
    return {
      rows: summarise(DISK_ROWS, values),
      io: prepared['disk.seq_read'].parameters.io,
      pages: prepared['disk.seq_read'].parameters.pages,
      commands: Object.fromEntries(ids.map((id) => [id, `fio ${jobs[id].join(' ')}`])),
    };
  } finally {
    for (const p of Object.values(prepared)) await p.dispose?.();
    if (bufferFile !== undefined) fs.rmSync(bufferFile, { force: true });
  }
}

async function netPart(agent, o) {
  const sink = await startServeNet();
  const iperf = await startIperf3Server();
  const iperfArgs = ['-c', '127.0.0.1', '-p', String(iperf.port), '-t', String(o.seconds), '-O', String(o.omit), '-P', String(o.streams), '-J'];
  try {
    log(`net: guestbench → serve-net child at ${sink.address}; iperf3 → iperf3 -s on port ${iperf.port}`);
    const stream = await prepare(agent, 'net.tcp_stream', { seconds: o.seconds, omitSeconds: o.omit, streams: o.streams }, o, { netSink: sink.address });
    try {
      const values = await alternate(
        o,
        ['net.tcp_stream'],
        async () => ({ ...(await stream.trial()) }),
        () => JSON.parse(execFileSync('iperf3', iperfArgs, { encoding: 'utf8' })),
      );
      const rows = [
        { id: 'net.tcp_stream', metric: 'throughput', unit: 'Mbit/s', ref: (j) => j.end.sum_received.bits_per_second / 1e6, tolerance: 0.2, tool: 'iperf3' },
      ];
      return { rows: summarise(rows, values), commands: { 'net.tcp_stream': `iperf3 ${iperfArgs.join(' ')}` } };
    } finally {
      await stream.dispose?.();
    }
  } finally {
    await sink.stop();
    await iperf.stop();
  }
}

function format(n) {
  if (n >= 1000) return n.toFixed(0);
  if (n >= 10) return n.toFixed(1);
  return n.toFixed(2);
}

function table(rows) {
  const head = ['measurement', 'unit', 'guestbench', 'reference', 'ratio', '95% interval', 'range', 'tolerance', 'verdict', 'req/MiB'];
  const requests = (r) => {
    if (r.requestsPerMiB === undefined) return '';
    // The median, and the range where the rounds differ.
    const [a, b] = r.requestsPerMiB.map((v) =>
      v === undefined ? '?' : v.max - v.min < 0.1 ? v.median.toFixed(2) : `${v.median.toFixed(2)} (${v.min.toFixed(2)}–${v.max.toFixed(2)})`,
    );
    return r.verdict === 'control' ? `${b} / ${a}` : `${a} / ${b}`;
  };
  const lines = rows.map((r) => [
    r.measurement,
    r.unit,
    r.verdict === 'control' ? format(r.reference) : format(r.guestbench),
    r.verdict === 'control' ? format(r.guestbench) : format(r.reference),
    r.ratio.toFixed(2),
    `${r.interval[0].toFixed(2)}–${r.interval[1].toFixed(2)}`,
    `${r.ratioMin.toFixed(2)}–${r.ratioMax.toFixed(2)}`,
    r.tolerance === undefined ? '—' : `±${Math.round(r.tolerance * 100)}%`,
    r.verdict,
    requests(r),
  ]);
  const all = [head, ...lines];
  const widths = head.map((_, i) => Math.max(...all.map((l) => String(l[i]).length)));
  const line = (l) => `| ${l.map((c, i) => String(c).padEnd(widths[i])).join(' | ')} |`;
  return [line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...lines.map(line)].join('\n');
}

function fsType(dir) {
  try {
    return execFileSync('stat', ['-f', '-c', '%T', dir], { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

async function main() {
  const o = parseOptions(process.argv.slice(2));
  if (!fs.existsSync(AGENT)) throw new Error('agent/dist is missing: run `npm run build` (or `tsc -b agent`) first');
  for (const tool of o.only === 'net' ? ['iperf3'] : o.only === 'disk' ? ['fio'] : ['fio', 'iperf3']) {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    } catch {
      throw new Error(`${tool} is missing: run bench/scripts/ensure-reference-tools.sh`);
    }
  }
  const agent = require(AGENT);
  // An interrupted run exits through the exit hooks: the agent's removes its test files, ours the fio buffer.
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.once(signal, () => {
      log(`disk-net-agreement: ${signal}, stopping`);
      process.exit(130);
    });
  }
  // Children (serve-net, fio, iperf3) inherit the priority.
  let nice = os.getPriority();
  if (o.priority) {
    try {
      os.setPriority(-20);
      nice = -20;
    } catch {
      log(`cannot raise the priority (not root?): running at nice ${nice}`);
    }
  }
  const started = Date.now();
  const parts = [];
  if (o.only !== 'net') parts.push(await diskPart(agent, o));
  if (o.only !== 'disk') parts.push(await netPart(agent, o));
  const rows = parts.flatMap((p) => p.rows);
  const commands = Object.assign({}, ...parts.map((p) => p.commands));
  const machine = {
    kernel: os.release(),
    cpus: os.cpus().length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    diskDir: o.dir,
    fileSystem: fsType(fs.existsSync(o.dir) ? o.dir : path.dirname(o.dir)),
    guestbenchDiskIo: parts[0]?.io,
    guestbenchBufferPages: parts[0]?.pages,
    fioBuffer: o.only === 'net' ? undefined : o.fioBuffer,
    loadAverage: os.loadavg().map((l) => Number(l.toFixed(2))),
    nice,
    fio: o.only === 'net' ? undefined : execFileSync('fio', ['--version'], { encoding: 'utf8' }).trim(),
    iperf3: o.only === 'disk' ? undefined : execFileSync('iperf3', ['--version'], { encoding: 'utf8' }).split('\n')[0].trim(),
  };
  const options = {
    fileMiB: o.fileMiB,
    seconds: o.seconds,
    omitSeconds: o.omit,
    streams: o.streams,
    rounds: o.rounds,
    control: o.control,
    fioBuffer: o.fioBuffer,
  };
  if (o.json) {
    process.stdout.write(`${JSON.stringify({ options, machine, rows, commands, seconds: (Date.now() - started) / 1000 }, null, 2)}\n`);
  } else {
    process.stdout.write(`${table(rows)}\n\n`);
    process.stdout.write(
      `ratio: median over ${o.rounds} rounds of guestbench/reference, each round the tools run back to back, the order rotating; 95% interval: bootstrap of that median; range: lowest and highest round; req/MiB: requests per MiB the block device got during guestbench's rounds / the reference's, median (and range where rounds differ; all I/O on the device counts)${o.control ? '; control rows: the reference tool’s second run in each round against its first' : ''}\n`,
    );
    process.stdout.write(`${JSON.stringify(options)}\n${JSON.stringify(machine)}\n`);
    for (const [id, cmd] of Object.entries(commands)) process.stdout.write(`${id}: ${cmd}\n`);
  }
  return rows.some((r) => r.verdict === 'DISAGREES') ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`disk-net-agreement: ${err.message}\n`);
    process.exitCode = 2;
  },
);
