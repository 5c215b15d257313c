#!/usr/bin/env node
// Benchmark of guestbench itself: do its memory and kernel numbers agree with well-known
// native tools on this machine? Each row runs guestbench's benchmark and the reference tool's
// matching command back to back, the order rotating from round to round, for several rounds;
// the verdict is on the median of the per-round ratios (with a bootstrap interval), so drift
// and neighbours' load hit both alike. With --control, each round runs the reference a second
// time, and the table shows the reference against itself: the yardstick for the other rows.
//
//   sys.ctxswitch rate   perf bench sched pipe, both processes on one CPU (taskset), as guestbench pins
//   mem.bandwidth copy   perf bench mem memcpy (glibc memcpy) on a buffer of the same size; and mbw -t0
//   sys.syscall net      perf bench syscall basic (getppid in a C loop) against guestbench's
//                        getuid round trip minus its binding cost (call − binding)
//   sys.spawn rate       a dash loop of /bin/true on one CPU (fork + exec + wait, no Node)
//
// Usage: node bench/cpu-mem-sys-agreement.js [--rounds N] [--seconds S] [--buffer-mib N] [--only IDS] [--control] [--json]
'use strict';
const { execFileSync } = require('node:child_process');
const os = require('node:os');
const path = require('node:path');
const { parseArgs } = require('node:util');
const { bootstrapMedian, median } = require('./lib/median');

const REPO = path.join(__dirname, '..');
const AGENT = path.join(REPO, 'agent', 'dist', 'index.js');

const HELP = `Usage: node bench/cpu-mem-sys-agreement.js [options]
  --rounds N       measurements per tool, alternating which goes first (default 10)
  --seconds S      length of one guestbench trial; the references are sized to about as long (default 1)
  --buffer-mib N   mem.bandwidth buffer and memcpy size (default 256)
  --control        also run each reference twice per round and show it against itself
  --only IDS       only these benchmarks, comma-separated (sys.ctxswitch,mem.bandwidth,sys.syscall,sys.spawn)
  --json           the table as JSON
Run bench/scripts/ensure-cpu-mem-sys-tools.sh first (npm run bench:cpu-mem-sys does).`;

function parseOptions(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      rounds: { type: 'string' },
      seconds: { type: 'string' },
      'buffer-mib': { type: 'string' },
      only: { type: 'string' },
      control: { type: 'boolean' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    process.exit(0);
  }
  const number = (key, fallback, min, max) => {
    const v = values[key] === undefined ? fallback : Number(values[key]);
    if (!Number.isFinite(v) || v < min || v > max) throw new Error(`--${key}: a number from ${min} to ${max}, got "${values[key]}"`);
    return v;
  };
  return {
    rounds: Math.round(number('rounds', 10, 2, 1000)),
    seconds: number('seconds', 1, 0.1, 60),
    bufferMiB: Math.round(number('buffer-mib', 256, 16, 16384)),
    control: values.control === true,
    only: values.only === undefined ? undefined : values.only.split(','),
    json: values.json === true,
  };
}

function log(line) {
  process.stderr.write(`${line}\n`);
}

function run(file, args) {
  return execFileSync(file, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 16 * 1024 * 1024 });
}

/** A number after `label` in perf's output, e.g. "ops/sec" or "GB/sec". */
function perfNumber(out, unit) {
  const m = new RegExp(`([0-9.]+)\\s+${unit.replace('/', '\\/')}`).exec(out);
  if (m === null) throw new Error(`no "${unit}" in perf's output:\n${out.slice(0, 400)}`);
  return Number(m[1]);
}

async function prepare(agent, id, raw, seconds) {
  const def = agent.getBenchmark(id);
  const profile = {
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
  const prepared = await def.prepare(def.parseSettings(raw), { profile, signal: new AbortController().signal });
  // Warm-up, not recorded: the JIT tiers the kernel up, as the runner's warm-up does.
  for (let i = 0; i < 3; i++) await prepared.trial();
  return prepared;
}

/** The rows: how guestbench measures, how the reference does, the tolerance and why. */
function rowsFor(o, cpu) {
  const pin = ['-c', String(cpu)];
  return [
    {
      id: 'sys.ctxswitch',
      raw: {},
      metric: 'rate',
      unit: 'round trips/s',
      gb: (v) => v.rate,
      // perf's fork mode: two processes, one-int ping-pong over two pipes; one op is one round trip.
      refCommand: (loops) => ['taskset', [...pin, 'perf', 'bench', 'sched', 'pipe', '-l', String(loops)]],
      ref: (out) => perfNumber(out, 'ops/sec'),
      size: 20000,
      tolerance: 0.5,
      why: "guestbench's side is Node: each round trip also passes through libuv's event loop and a JavaScript callback, a few µs that perf's C loop does not pay",
      tool: 'perf sched pipe',
    },
    {
      id: 'mem.bandwidth',
      raw: { bufferMiB: o.bufferMiB },
      metric: 'copy',
      unit: 'GB/s',
      gb: (v) => v.copy,
      refCommand: (loops) => ['perf', ['bench', 'mem', 'memcpy', '-s', `${o.bufferMiB}MB`, '-l', String(loops), '-f', 'default']],
      // perf prints GB/sec, MB/sec or KB/sec in powers of 1024; guestbench's GB is 10^9 bytes.
      ref: (out) => {
        const m = /([0-9.]+) (G|M|K)B\/sec/.exec(out);
        if (m === null) throw new Error(`no bandwidth in perf's output:\n${out.slice(0, 400)}`);
        return (Number(m[1]) * 1024 ** { G: 3, M: 2, K: 1 }[m[2]]) / 1e9;
      },
      size: 4,
      tolerance: 0.15,
      why: "both copy a buffer far larger than the cache with glibc's memcpy (V8's TypedArray.set calls it); only the loop around it differs",
      tool: 'perf mem memcpy',
    },
    {
      id: 'mem.bandwidth',
      raw: { bufferMiB: o.bufferMiB },
      metric: 'copy',
      unit: 'GB/s',
      second: true,
      gb: (v) => v.copy,
      // At least two runs: mbw allocates its arrays untouched, so its first copy also pays a
      // page fault per 4 KiB of the destination (guestbench touches its buffers beforehand).
      refCommand: (loops) => ['mbw', ['-q', '-n', String(Math.max(2, loops + 1)), '-t0', String(o.bufferMiB)]],
      // mbw prints MiB/s per run; the reference is the median of the runs after the first.
      ref: (out) => {
        const runs = [...out.matchAll(/^\d+\s+Method: MEMCPY.*Copy:\s+([0-9.]+) MiB\/s/gm)].map((m) => Number(m[1]));
        if (runs.length < 2) throw new Error(`fewer than two runs in mbw's output:\n${out.slice(0, 400)}`);
        return (median(runs.slice(1)) * 2 ** 20) / 1e9;
      },
      size: 4,
      tolerance: 0.15,
      why: 'mbw -t0 also copies with memcpy; its first run, which also faults the destination in, is left out',
      tool: 'mbw memcpy',
    },
    {
      id: 'sys.syscall',
      raw: {},
      metric: 'net',
      unit: 'ns',
      gb: (v) => v.call - v.binding,
      refCommand: (loops) => ['perf', ['bench', 'syscall', 'basic', '-l', String(loops)]],
      ref: (out) => perfNumber(out, 'usecs/op') * 1000,
      size: 2_000_000,
      tolerance: 0.3,
      why: "getuid and getppid take the same entry path and do next to nothing in the kernel; guestbench's net figure subtracts a binding cost measured in another loop, which leaves a few ns of error either way",
      tool: 'perf syscall basic',
    },
    {
      id: 'sys.spawn',
      raw: {},
      metric: 'rate',
      unit: 'spawns/s',
      gb: (v) => v.rate,
      refCommand: (loops) => [
        'taskset',
        [
          ...pin,
          'sh',
          '-c',
          `i=0; s=$(date +%s%N); while [ $i -lt ${loops} ]; do /bin/true; i=$((i+1)); done; e=$(date +%s%N); echo "$(( ${loops} * 1000000000 / (e - s) )) spawns/s"`,
        ],
      ],
      ref: (out) => perfNumber(out, 'spawns/s'),
      size: 500,
      tolerance: 0.5,
      why: 'both fork, exec /bin/true and wait, on one CPU; but Node forks a process of tens of MiB (page tables to copy) and sets up pipes, where dash forks a few hundred KiB',
      tool: 'dash loop',
    },
  ];
}

function row(measurement, unit, a, b, tolerance, control) {
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
    verdict: control ? 'control' : Math.abs(ratio - 1) <= tolerance ? 'agrees' : 'DISAGREES',
  };
}

function format(n) {
  if (n >= 1000) return n.toFixed(0);
  if (n >= 10) return n.toFixed(1);
  return n.toFixed(3);
}

function table(rows) {
  const header = ['measurement', 'unit', 'guestbench', 'reference', 'ratio', '95% interval', 'range', 'tolerance', 'verdict'];
  const cells = rows.map((r) => [
    r.measurement,
    r.unit,
    format(r.guestbench),
    format(r.reference),
    r.ratio.toFixed(3),
    `${r.interval[0].toFixed(3)}–${r.interval[1].toFixed(3)}`,
    `${r.ratioMin.toFixed(2)}–${r.ratioMax.toFixed(2)}`,
    r.verdict === 'control' ? '' : `±${Math.round(r.tolerance * 100)}%`,
    r.verdict,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c) => c.map((x, i) => (i < 2 ? x.padEnd(widths[i]) : x.padStart(widths[i]))).join('  ');
  return [line(header), ...cells.map(line)].join('\n');
}

async function main() {
  const o = parseOptions(process.argv.slice(2));
  const agent = require(AGENT);
  const cpu = Number(/^Cpus_allowed_list:\s*(\d+)/m.exec(require('node:fs').readFileSync('/proc/self/status', 'utf8'))[1]);
  const specs = rowsFor(o, cpu).filter((s) => o.only === undefined || o.only.includes(s.id));
  if (specs.length === 0) throw new Error(`--only: one or more of ${[...new Set(rowsFor(o, cpu).map((s) => s.id))].join(', ')}, got "${o.only}"`);
  const started = Date.now();
  const loadBefore = os.loadavg();
  const rows = [];
  const commands = {};
  for (const spec of specs) {
    const prepared = await prepare(agent, spec.id, spec.raw, o.seconds);
    try {
      // Size the reference to about one guestbench trial: time one run at the starting size, scale once.
      let loops = spec.size;
      const t0 = process.hrtime.bigint();
      const [file0, args0] = spec.refCommand(loops);
      run(file0, args0);
      const took = Number(process.hrtime.bigint() - t0) / 1e9;
      loops = Math.max(1, Math.round((loops * o.seconds) / Math.max(took, 1e-3)));
      const [file, args] = spec.refCommand(loops);
      commands[`${spec.id} ${spec.tool}`] = `${file} ${args.join(' ')}`;
      const values = { gb: [], ref: [], ref2: [] };
      const who = o.control ? ['gb', 'ref', 'ref2'] : ['gb', 'ref'];
      for (let round = 0; round < o.rounds; round++) {
        for (const w of who.map((_, i) => who[(i + round) % who.length])) {
          if (w === 'gb') {
            // Running a reference forks this process, which leaves every page of it copy-on-write:
            // the next trial would pay one write fault per page of its buffers (65,536 for a
            // 256 MiB buffer, 0.3-0.7 s here, where a fault traps to the hypervisor). The agent's
            // own runner never forks between trials, so an untimed trial re-touches them first.
            await prepared.trial();
            values.gb.push(spec.gb(await prepared.trial()));
          } else values[w].push(spec.ref(run(file, args)));
        }
        log(`  ${spec.id} against ${spec.tool}: round ${round + 1}/${o.rounds}`);
      }
      rows.push({ ...row(`${spec.id} ${spec.metric} / ${spec.tool}`, spec.unit, values.gb, values.ref, spec.tolerance, false), why: spec.why });
      if (o.control) rows.push(row(`  ${spec.tool} against itself`, spec.unit, values.ref2, values.ref, spec.tolerance, true));
    } finally {
      await prepared.dispose?.();
    }
  }
  const machine = {
    kernel: os.release(),
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model,
    pinnedCpu: cpu,
    loadAverageBefore: loadBefore.map((l) => Number(l.toFixed(2))),
    loadAverageAfter: os.loadavg().map((l) => Number(l.toFixed(2))),
    perf: run('perf', ['version']).trim(),
    node: process.version,
  };
  if (o.json) {
    process.stdout.write(`${JSON.stringify({ options: o, machine, rows, commands, seconds: (Date.now() - started) / 1000 }, null, 2)}\n`);
  } else {
    process.stdout.write(`${table(rows)}\n\n`);
    process.stdout.write(
      `ratio: median over ${o.rounds} rounds of guestbench/reference (back to back, order rotating); 95% interval: bootstrap of that median; range: lowest and highest round${o.control ? '; control rows: the reference’s second run in each round against its first' : ''}\n`,
    );
    for (const r of rows) if (r.why !== undefined) process.stdout.write(`${r.measurement}: ±${Math.round(r.tolerance * 100)}% because ${r.why}\n`);
    process.stdout.write(`${JSON.stringify(machine)}\n`);
    for (const [id, cmd] of Object.entries(commands)) process.stdout.write(`${id}: ${cmd}\n`);
  }
  return rows.some((r) => r.verdict === 'DISAGREES') ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`cpu-mem-sys-agreement: ${err.message}\n`);
    process.exitCode = 2;
  },
);
