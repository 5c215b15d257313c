#!/usr/bin/env node
// Benchmark of guestbench's comparison itself: the A/A check. Runs the agent natively N
// times a side under two labels, interleaved (a, b, a, b, …), against a real collector on
// a fresh SQLite file, then prints per category and overall the ratio b/a, its 95 %
// interval, the median interval half-width, and the verdict. Goal (issue 16): overall
// within ±3 %, median half-width ≤ 10 %.
// Usage: node bench/aa.js [--profile quick] [--runs 3] [--json]
'use strict';
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { parseArgs } = require('node:util');
const { compareAa, createLogger, startCollector } = require('@guestbench/collector');

const agentCli = path.join(path.dirname(require.resolve('@guestbench/agent/package.json')), 'dist', 'cli', 'main.js');

function runAgent(collector, profile, label, stateDir) {
  const args = [agentCli, 'run', '--collector', collector, '--profile', profile, '--platform', 'native', '--label', label, '--state-dir', stateDir];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'ignore'] });
    child.on('error', reject);
    // Exit 1 is a run that ended failed (a benchmark failed): its other samples still count.
    child.on('exit', (code) => (code === 0 || code === 1 ? resolve(code) : reject(new Error(`agent run (${label}) exited ${code}`))));
  });
}

const pct = (v) => (v === undefined ? '-' : `${(v * 100).toFixed(1)}%`);
const ci = (lo, hi) => (lo === undefined || hi === undefined ? '-' : `${lo.toFixed(3)}–${hi.toFixed(3)}`);

async function main() {
  const { values } = parseArgs({
    options: { profile: { type: 'string', default: 'quick' }, runs: { type: 'string', default: '3' }, json: { type: 'boolean', default: false } },
  });
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1 || runs > 20) throw new Error(`--runs: a whole number from 1 to 20, got "${values.runs}"`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'guestbench-aa-'));
  const collector = await startCollector({
    grpcAddress: '127.0.0.1:0',
    httpAddress: '127.0.0.1:0',
    store: { sqliteFile: path.join(dir, 'aa.db') },
    auth: 'none',
    logger: createLogger({ destination: fs.createWriteStream(path.join(dir, 'collector.log')) }),
  });
  const started = Date.now();
  const load = [];
  let failedRuns = 0;
  try {
    for (let i = 0; i < runs; i++) {
      for (const label of ['a', 'b']) {
        load.push(os.loadavg()[0]);
        const t0 = Date.now();
        const code = await runAgent(collector.grpcAddress, values.profile, label, path.join(dir, 'agent-state'));
        if (code !== 0) failedRuns++;
        process.stderr.write(
          `run ${i + 1}/${runs} native/${label}: ${((Date.now() - t0) / 1000).toFixed(1)} s (load ${os.loadavg()[0].toFixed(2)})${code === 0 ? '' : ', ended failed'}\n`,
        );
      }
    }
    const { verdict, comparison } = await compareAa(collector.store, 'native/a', 'native/b');
    const b = comparison.groups.find((g) => g.key === 'native/b');
    if (values.json) {
      process.stdout.write(
        `${JSON.stringify({ verdict, categories: b.categories, started, minutes: (Date.now() - started) / 60_000, loadavg: load }, null, 2)}\n`,
      );
      return;
    }
    const lines = [
      `A/A: native/b against native/a, ${runs} ${values.profile} runs a side, interleaved; ${os.cpus().length} CPUs, load average ${Math.min(...load).toFixed(2)}–${Math.max(...load).toFixed(2)} before the runs; ${((Date.now() - started) / 60_000).toFixed(1)} min`,
      '',
      '| category | metrics | ratio b/a | 95% interval | median half-width |',
      '| --- | ---: | ---: | ---: | ---: |',
      ...b.categories.map(
        (c) => `| ${c.category} | ${c.benchmarks} | ${c.geomean?.toFixed(3) ?? '-'} | ${ci(c.ciLow, c.ciHigh)} | ${pct(c.medianHalfWidth)} |`,
      ),
      `| **overall** | ${b.categories.reduce((n, c) => n + c.benchmarks, 0)} | **${b.overallGeomean?.toFixed(3) ?? '-'}** | ${ci(b.overallCiLow, b.overallCiHigh)} | ${pct(b.medianHalfWidth)} |`,
      '',
      `Goal: overall within ±3 % (${b.overallGeomean === undefined ? '-' : Math.abs(b.overallGeomean - 1) <= 0.03 ? 'met' : 'missed'}), median half-width ≤ 10 % (${b.medianHalfWidth === undefined ? '-' : b.medianHalfWidth <= 0.1 ? 'met' : 'missed'}).`,
      `Verdict: ${verdict.summary}`,
      ...(failedRuns > 0 ? [`${failedRuns} run(s) ended failed (a benchmark failed); their other samples are counted.`] : []),
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    await collector.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  process.stderr.write(`bench/aa: ${err.message}\n`);
  process.exitCode = 1;
});
