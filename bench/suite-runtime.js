#!/usr/bin/env node
// Benchmark of guestbench itself: how long the cpu, mem and sys part of a profile takes.
// Each run is a fresh Node process (as the agent is), running the built agent from
// agent/dist. Usage:
//   node bench/suite-runtime.js [--profiles smoke,quick] [--runs N] [--wait-idle SECONDS] [--json]
// --wait-idle: before each run, wait up to SECONDS for the machine to be idle.
'use strict';
const { execFileSync, spawn } = require('node:child_process');
const { readFileSync } = require('node:fs');
const os = require('node:os');
const { setTimeout: sleep } = require('node:timers/promises');
const path = require('node:path');
const { parseArgs } = require('node:util');

const AGENT = path.join(__dirname, '..', 'agent', 'dist', 'index.js');
const PART = /^(cpu|mem|sys)\./;

/** Goals of issue 4 for the cpu/mem/sys part of a profile, in seconds. */
const RUNTIME_GOALS = { smoke: 10, quick: 60 };

function loadAverage() {
  return os.loadavg()[0];
}

/** `uptime`'s line, or the load averages when uptime is missing. */
function uptimeLine() {
  try {
    return execFileSync('uptime', { encoding: 'utf8' }).trim();
  } catch {
    return `load average: ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(', ')}`;
  }
}

/** Busy and total jiffies of all CPUs, from the first line of /proc/stat. */
function cpuJiffies() {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0); // idle + iowait
  const total = fields.slice(0, 8).reduce((a, b) => a + b, 0); // without guest time, counted in user
  return { busy: total - idle, total };
}

/** How many CPUs were busy on average between two cpuJiffies() readings. */
function busyCpus(before, after) {
  const total = after.total - before.total;
  return total > 0 ? ((after.busy - before.busy) / total) * os.cpus().length : 0;
}

/**
 * Waits until the machine has been nearly idle (under 0.15 CPUs busy over 2 s), for at
 * most `maxSeconds`; returns the busy CPUs of the last 2 s. Others' work is the main
 * source of noise on a shared machine, so measurements start when it pauses.
 */
async function waitForIdle(maxSeconds) {
  const deadline = Date.now() + maxSeconds * 1000;
  for (;;) {
    const before = cpuJiffies();
    await sleep(2000);
    const busy = busyCpus(before, cpuJiffies());
    if (busy < 0.15 || Date.now() >= deadline) return busy;
  }
}

/**
 * In the child: runs the part (or only the benchmark `only`) in this process and writes
 * one JSON line to stdout.
 */
async function runPartHere(profileName, only) {
  const agent = require(AGENT);
  const full = agent.loadProfile(profileName, agent.listBenchmarks());
  const profile = { ...full, benchmarks: full.benchmarks.filter((id) => (only === undefined ? PART.test(id) : id === only)) };
  const loadBefore = loadAverage();
  const t0 = process.hrtime.bigint();
  const outcomes = await agent.runSuite({ profile });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const result = {
    profile: profileName,
    seconds,
    loadBefore,
    loadAfter: loadAverage(),
    outcomes: outcomes.map((o) =>
      o.ok ? { ok: true, benchmarkId: o.benchmarkId, samples: o.samples } : { ok: false, benchmarkId: o.benchmarkId, error: o.error.message },
    ),
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

/**
 * Runs the cpu/mem/sys part of `profileName` in a fresh Node process; resolves with its
 * result and `busyCpus`, the CPUs busy on average during the run: about 1 when only the
 * benchmark ran (sys.ctxswitch uses two), more when others were working.
 */
async function runPartInChild(profileName, only) {
  const before = cpuJiffies();
  const result = await runChild(profileName, only);
  return { ...result, busyCpus: busyCpus(before, cpuJiffies()) };
}

function runChild(profileName, only) {
  return new Promise((resolve, reject) => {
    const args = [__filename, '--child', profileName, ...(only === undefined ? [] : ['--only', only])];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.once('error', reject);
    child.once('close', (code) => {
      if (code !== 0) reject(new Error(`child run of ${profileName} exited with ${code}`));
      else resolve(JSON.parse(out));
    });
  });
}

/** The ids of the cpu/mem/sys part of a profile, in suite order. */
function partBenchmarks(profileName) {
  const agent = require(AGENT);
  return agent.loadProfile(profileName, agent.listBenchmarks()).benchmarks.filter((id) => PART.test(id));
}

function failures(result) {
  return result.outcomes.filter((o) => !o.ok).map((o) => `${o.benchmarkId}: ${o.error}`);
}

async function main() {
  const { values } = parseArgs({
    options: {
      child: { type: 'string' },
      only: { type: 'string' },
      profiles: { type: 'string', default: 'smoke,quick' },
      runs: { type: 'string', default: '1' },
      'wait-idle': { type: 'string', default: '0' },
      json: { type: 'boolean', default: false },
    },
  });
  if (values.child !== undefined) return runPartHere(values.child, values.only);
  const waitIdle = Number(values['wait-idle']);
  if (!Number.isFinite(waitIdle) || waitIdle < 0) throw new Error(`--wait-idle: seconds ≥ 0, got "${values['wait-idle']}"`);
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs: a whole number ≥ 1, got "${values.runs}"`);
  const rows = [];
  for (const profile of values.profiles.split(',')) {
    for (let run = 1; run <= runs; run++) {
      const idleBefore = waitIdle > 0 ? await waitForIdle(waitIdle) : undefined;
      const uptime = uptimeLine();
      if (!values.json) process.stderr.write(`${profile} run ${run}… (${uptime})\n`);
      const result = await runPartInChild(profile);
      rows.push({ profile, run, uptime, idleBefore, result });
    }
  }
  if (values.json) {
    process.stdout.write(`${JSON.stringify(rows.map((r) => ({ profile: r.profile, run: r.run, uptime: r.uptime, idleBefore: r.idleBefore, ...r.result })))}\n`);
    return;
  }
  console.log(`\nRun time of the cpu, mem and sys part (node ${process.version}, ${os.cpus().length} CPUs, ${os.cpus()[0]?.model ?? '?'})\n`);
  console.log('| profile | run | seconds | goal | load before → after (1 min) | CPUs busy during run | failed |');
  console.log('|---|---|---|---|---|---|---|');
  for (const r of rows) {
    const goal = RUNTIME_GOALS[r.profile];
    const verdict = goal === undefined ? '–' : `< ${goal} s ${r.result.seconds < goal ? '✔' : '✘'}`;
    const failed = failures(r.result);
    console.log(
      `| ${r.profile} | ${r.run} | ${r.result.seconds.toFixed(1)} | ${verdict} | ${r.result.loadBefore.toFixed(2)} → ${r.result.loadAfter.toFixed(2)} | ${r.result.busyCpus.toFixed(2)} | ${failed.length === 0 ? 'none' : failed.join('; ')} |`,
    );
  }
  console.log('\nSeconds per benchmark (prepare, warm-up and trials; trial count in brackets)\n');
  const ids = [...new Set(rows.flatMap((r) => r.result.outcomes.map((o) => o.benchmarkId)))];
  console.log(`| benchmark | ${rows.map((r) => `${r.profile} #${r.run}`).join(' | ')} |`);
  console.log(`|---|${rows.map(() => '---').join('|')}|`);
  for (const id of ids) {
    const cells = rows.map((r) => {
      const o = r.result.outcomes.find((x) => x.benchmarkId === id);
      if (o === undefined) return '';
      if (!o.ok) return 'failed';
      const s = o.samples[0];
      return `${s.durationSeconds.toFixed(2)} (${s.trials.length})`;
    });
    console.log(`| ${id} | ${cells.join(' | ')} |`);
  }
}

module.exports = { runPartInChild, uptimeLine, waitForIdle, partBenchmarks, PART };

if (require.main === module) {
  main().catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
