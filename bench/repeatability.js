#!/usr/bin/env node
// Benchmark of guestbench itself: how repeatable the cpu, mem and sys results are. Runs
// the part of a profile several times in a row, each in a fresh Node process, and gives
// each metric's relative standard deviation across the runs' means.
// Usage: node bench/repeatability.js [--profile quick] [--runs 5] [--wait-idle SECONDS] [--per-benchmark] [--json]
// --wait-idle: before each run, wait up to SECONDS for the machine to be idle.
// --per-benchmark: each run of each benchmark is its own process, started when the machine
//   is idle; for shared machines whose quiet spells are shorter than a whole part.
'use strict';
const os = require('node:os');
const { parseArgs } = require('node:util');
const { partBenchmarks, runPartInChild, uptimeLine, waitForIdle } = require('./suite-runtime');

/** Goals of issue 4: RSD across runs per metric. */
function goalFor(benchmarkId) {
  return benchmarkId.startsWith('cpu.') ? 0.03 : 0.05;
}

function mean(xs) {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

function rsd(xs) {
  if (xs.length < 2) return 0;
  const m = mean(xs);
  const sd = Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1));
  return sd / Math.abs(m);
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

function formatValue(v) {
  if (v >= 1e5) return v.toExponential(3);
  if (v >= 100) return v.toFixed(0);
  if (v >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

async function main() {
  const { values } = parseArgs({
    options: {
      profile: { type: 'string', default: 'quick' },
      runs: { type: 'string', default: '5' },
      'wait-idle': { type: 'string', default: '0' },
      'per-benchmark': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
  });
  const waitIdle = Number(values['wait-idle']);
  if (!Number.isFinite(waitIdle) || waitIdle < 0) throw new Error(`--wait-idle: seconds ≥ 0, got "${values['wait-idle']}"`);
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 2) throw new Error(`--runs: a whole number ≥ 2, got "${values.runs}"`);
  const results = [];
  if (values['per-benchmark']) {
    // One result per run, assembled from one process per benchmark.
    const ids = partBenchmarks(values.profile);
    for (let run = 1; run <= runs; run++)
      results.push({ uptime: uptimeLine(), seconds: 0, loadBefore: os.loadavg()[0], loadAfter: 0, busyCpus: 0, outcomes: [] });
    for (const id of ids) {
      for (let run = 1; run <= runs; run++) {
        const idleBefore = waitIdle > 0 ? await waitForIdle(waitIdle) : undefined;
        if (!values.json) process.stderr.write(`${id} run ${run}/${runs}… (${uptimeLine()})\n`);
        const r = await runPartInChild(values.profile, id);
        const into = results[run - 1];
        into.seconds += r.seconds;
        into.loadAfter = r.loadAfter;
        into.busyCpus = Math.max(into.busyCpus, r.busyCpus);
        into.idleBefore = Math.max(into.idleBefore ?? 0, idleBefore ?? 0);
        into.outcomes.push(...r.outcomes.map((o) => ({ ...o, busyCpus: r.busyCpus })));
      }
    }
  } else {
    for (let run = 1; run <= runs; run++) {
      const idleBefore = waitIdle > 0 ? await waitForIdle(waitIdle) : undefined;
      const uptime = uptimeLine();
      if (!values.json) process.stderr.write(`${values.profile} run ${run}/${runs}… (${uptime})\n`);
      results.push({ uptime, idleBefore, ...(await runPartInChild(values.profile)) });
    }
  }

  // metric key → per-run values
  const metrics = new Map();
  for (const r of results) {
    for (const o of r.outcomes) {
      if (!o.ok) continue;
      for (const s of o.samples) {
        const key = `${s.benchmarkId} ${s.metric}`;
        const m = metrics.get(key) ?? {
          benchmarkId: s.benchmarkId,
          metric: s.metric,
          unit: s.unit,
          primary: s.primary,
          values: [],
          withinRsd: [],
          steal: [],
          busy: [],
        };
        m.values.push(s.value);
        m.withinRsd.push(s.rsd);
        m.steal.push(s.stealFraction);
        m.busy.push(o.busyCpus ?? r.busyCpus);
        metrics.set(key, m);
      }
    }
  }
  const rows = [...metrics.values()].map((m) => ({
    ...m,
    mean: mean(m.values),
    min: Math.min(...m.values),
    max: Math.max(...m.values),
    rsd: rsd(m.values),
    goal: goalFor(m.benchmarkId),
    complete: m.values.length === runs,
  }));
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ profile: values.profile, runs: results, metrics: rows })}\n`);
    return;
  }
  const mode = values['per-benchmark'] ? 'each benchmark of each run a fresh process started when idle' : 'each a fresh process';
  console.log(`\nRepeatability of the ${values.profile} profile's cpu, mem and sys part: ${runs} runs in a row, ${mode}`);
  console.log(`(node ${process.version}, ${os.cpus().length} CPUs, ${os.cpus()[0]?.model ?? '?'})\n`);
  const busyTitle = values['per-benchmark'] ? 'most CPUs busy during a benchmark' : 'CPUs busy during run';
  console.log(`| run | seconds | load before → after (1 min) | ${busyTitle} (≈1 = only the benchmark) | failed |`);
  console.log('|---|---|---|---|---|');
  results.forEach((r, i) => {
    const failed = r.outcomes.filter((o) => !o.ok).map((o) => `${o.benchmarkId}: ${o.error}`);
    console.log(
      `| ${i + 1} | ${r.seconds.toFixed(1)} | ${r.loadBefore.toFixed(2)} → ${r.loadAfter.toFixed(2)} | ${r.busyCpus.toFixed(2)} | ${failed.length === 0 ? 'none' : failed.join('; ')} |`,
    );
  });
  console.log('\n| metric | unit | mean | min | max | RSD across runs | goal | median RSD within a run | max steal | max CPUs busy |');
  console.log('|---|---|---|---|---|---|---|---|---|---|');
  let met = 0;
  for (const r of rows) {
    const ok = r.complete && r.rsd <= r.goal;
    if (ok) met++;
    const name = `${r.benchmarkId} ${r.metric}${r.primary ? '' : ' (secondary)'}`;
    console.log(
      `| ${name} | ${r.unit} | ${formatValue(r.mean)} | ${formatValue(r.min)} | ${formatValue(r.max)} | ${(100 * r.rsd).toFixed(1)}% | ≤ ${100 * r.goal}% ${ok ? '✔' : '✘'} | ${(100 * median(r.withinRsd)).toFixed(1)}% | ${(100 * Math.max(...r.steal)).toFixed(1)}% | ${Math.max(...r.busy).toFixed(2)} |`,
    );
  }
  console.log(`\n${met} of ${rows.length} metrics met their goal.`);
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
