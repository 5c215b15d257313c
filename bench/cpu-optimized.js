#!/usr/bin/env node
// Does forcing V8 to optimize the cpu.* kernels change what they measure natively? For each
// JavaScript kernel, two copies in one process (same source, separate feedback): one left to
// V8's own tiering (calls until it has run for --tier-seconds, as the harness did before),
// one compiled by optimizeKernels as the harness does now; then alternating timed calls of
// the two, so the machine's load reaches both alike. Prints the median and best rate of
// each and their ratio. The agent's own kernel functions are copied from their source text.
//
// Usage: node bench/cpu-optimized.js [--trials N] [--tier-seconds S] [--json]
'use strict';
const path = require('node:path');
const { parseArgs } = require('node:util');
const { median } = require('./lib/median');

const dist = path.join(__dirname, '..', 'agent', 'dist', 'bench');
const { optimizeKernels, checkKernels } = require(path.join(dist, 'optimized-code.js'));
const { int32Chain } = require(path.join(dist, 'cpu', 'int32.js'));
const { float64Chain } = require(path.join(dist, 'cpu', 'float64.js'));
const { mathCalls } = require(path.join(dist, 'cpu', 'math.js'));
const { loadsAndStores } = require(path.join(dist, 'cpu', 'memory.js'));
const { callChain, CALL_TARGETS } = require(path.join(dist, 'cpu', 'calls.js'));

const { values } = parseArgs({
  options: { trials: { type: 'string', default: '20' }, 'tier-seconds': { type: 'string', default: '2' }, json: { type: 'boolean', default: false } },
});
const trials = Number(values.trials);
const tierSeconds = Number(values['tier-seconds']);
if (!Number.isInteger(trials) || trials < 2) throw new Error(`--trials must be a whole number ≥ 2, got ${values.trials}`);
if (!(tierSeconds > 0)) throw new Error(`--tier-seconds must be a number > 0, got ${values['tier-seconds']}`);

/** A fresh copy of `fn` (its own feedback and code), with `scope` in reach by name. */
function copy(fn, scope = {}) {
  return new Function(...Object.keys(scope), `return (${fn.toString()});`)(...Object.values(scope));
}

const memory = new Int32Array(4096).map((_, i) => i);
const cases = [
  { id: 'cpu.int32', fn: int32Chain, n: 1e7, call: (f, n, s) => f(n, s) },
  { id: 'cpu.float64', fn: float64Chain, n: 1e7, call: (f, n, s) => f(n, 0.1) + s },
  { id: 'cpu.math', fn: mathCalls, n: 1e6, call: (f, n, s) => f(n) + s },
  { id: 'cpu.memory', fn: loadsAndStores, n: 1e7, call: (f, n) => f(memory, n) },
  { id: 'cpu.calls', fn: callChain, n: 5e6, call: (f, n, s) => f(CALL_TARGETS, n, s) | 0 },
];

const rows = [];
for (const c of cases) {
  const natural = copy(c.fn);
  const forced = copy(c.fn);
  let s = 7;
  c.call(natural, 8, s);
  c.call(forced, 8, s);
  optimizeKernels([{ name: 'forced', fn: forced }], () => {
    s = c.call(forced, 1021, s);
  });
  const until = Date.now() + tierSeconds * 1000;
  while (Date.now() < until) s = c.call(natural, c.n / 10, s);
  const rate = { natural: [], forced: [] };
  for (let i = 0; i < trials; i++) {
    const order =
      i % 2 === 0
        ? [
            ['forced', forced],
            ['natural', natural],
          ]
        : [
            ['natural', natural],
            ['forced', forced],
          ];
    for (const [name, f] of order) {
      const t0 = process.hrtime.bigint();
      s = c.call(f, c.n, s);
      rate[name].push(c.n / (Number(process.hrtime.bigint() - t0) / 1e3));
    }
  }
  rows.push({
    id: c.id,
    naturalMedian: median(rate.natural),
    forcedMedian: median(rate.forced),
    naturalBest: Math.max(...rate.natural),
    forcedBest: Math.max(...rate.forced),
    ratio: median(rate.forced) / median(rate.natural),
    forcedCheck:
      checkKernels(c.id, [{ name: 'forced', fn: forced }])
        .map((p) => p.flag)
        .join(',') || 'optimized',
  });
}

if (values.json) {
  process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
} else {
  const f = (x) => x.toPrecision(4);
  console.log('| kernel | own tiering, median (best) | forced, median (best) | forced / own | forced copy |');
  console.log('|---|---|---|---|---|');
  for (const r of rows)
    console.log(
      `| ${r.id} | ${f(r.naturalMedian)} (${f(r.naturalBest)}) | ${f(r.forcedMedian)} (${f(r.forcedBest)}) | ${r.ratio.toFixed(3)} | ${r.forcedCheck} |`,
    );
  console.log(
    `M iterations/s, ${trials} alternating trials each; load ${require('node:os').loadavg()[0].toFixed(1)} on ${require('node:os').cpus().length} CPUs`,
  );
}
