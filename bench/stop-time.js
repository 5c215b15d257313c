#!/usr/bin/env node
// bench:stop-time — how long SIGTERM takes, as `systemctl restart` sees it (goal: 2 s each):
//   collector with one daemon agent waiting for a job; collector with none; daemon agent
//   waiting for a job; daemon agent whose collector is gone. Real processes from the build.
// Usage: node bench/stop-time.js [--rounds N]   (default 3; prints the median and max)
'use strict';
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const repo = path.resolve(__dirname, '..');
const COLLECTOR = path.join(repo, 'collector', 'dist', 'cli', 'main.js');
const AGENT = path.join(repo, 'agent', 'dist', 'cli', 'main.js');
const roundsArg = process.argv.indexOf('--rounds');
const ROUNDS = roundsArg > 0 ? Number(process.argv[roundsArg + 1]) : 3;

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** A child whose JSON log lines (on `stream`) can be awaited. */
function start(file, args, stream) {
  const child = spawn(process.execPath, [file, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines = [];
  const waiters = new Set();
  let buf = '';
  child[stream].on('data', (d) => {
    buf += d;
    const parts = buf.split('\n');
    buf = parts.pop();
    for (const l of parts) if (l.startsWith('{')) lines.push(JSON.parse(l));
    for (const w of [...waiters]) w();
  });
  child[stream === 'stdout' ? 'stderr' : 'stdout'].resume();
  const exited = new Promise((resolve) => child.on('exit', () => resolve(process.hrtime.bigint())));
  return {
    child,
    exited,
    waitFor(match) {
      return new Promise((resolve) => {
        const check = () => {
          if (lines.some(match)) {
            waiters.delete(check);
            resolve();
          }
        };
        waiters.add(check);
        check();
      });
    },
  };
}

async function stopTime(proc) {
  const t0 = process.hrtime.bigint();
  proc.child.kill('SIGTERM');
  return Number((await proc.exited) - t0) / 1e9;
}

async function round(dir, i) {
  const port = await freePort();
  const db = path.join(dir, `r${i}.db`);
  const collectorArgs = ['serve', '--grpc', `127.0.0.1:${port}`, '--http', '127.0.0.1:0', '--db', db, '--insecure-no-auth', '--log-level', 'debug'];
  const out = {};
  // Idle collector.
  let c = start(COLLECTOR, collectorArgs, 'stdout');
  await c.waitFor((e) => e.event === 'collector-ready');
  out['collector, idle'] = await stopTime(c);
  // Collector with a daemon agent waiting for a job.
  c = start(COLLECTOR, collectorArgs, 'stdout');
  await c.waitFor((e) => e.event === 'collector-ready');
  const agent = start(
    AGENT,
    ['daemon', '--collector', `127.0.0.1:${port}`, '--platform', 'native', '--agent-id', `stop-${i}`, '--state-dir', path.join(dir, `s${i}`)],
    'stderr',
  );
  await c.waitFor((e) => e.event === 'job-wait-started');
  out['collector, one daemon agent waiting'] = await stopTime(c);
  // The agent, its collector gone.
  await agent.waitFor((e) => e.event === 'collector-unreachable');
  c = start(COLLECTOR, collectorArgs, 'stdout');
  await c.waitFor((e) => e.event === 'job-wait-started');
  out['daemon agent, waiting for a job'] = await stopTime(agent);
  await stopTime(c);
  const lone = start(
    AGENT,
    ['daemon', '--collector', `127.0.0.1:${port}`, '--platform', 'native', '--agent-id', `lone-${i}`, '--state-dir', path.join(dir, `l${i}`)],
    'stderr',
  );
  await lone.waitFor((e) => e.event === 'collector-unreachable');
  out['daemon agent, collector gone'] = await stopTime(lone);
  return out;
}

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gb-stop-time-'));
  try {
    const results = [];
    for (let i = 0; i < ROUNDS; i++) results.push(await round(dir, i));
    const load = os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ');
    process.stdout.write(
      `SIGTERM to exit, ${ROUNDS} rounds (${os.cpus().length} CPUs, load average ${load}); goal 2 s\n\n| process | median | max |\n|---|---|---|\n`,
    );
    for (const key of Object.keys(results[0])) {
      const v = results.map((r) => r[key]).sort((a, b) => a - b);
      process.stdout.write(`| ${key} | ${v[Math.floor(v.length / 2)].toFixed(2)} s | ${v[v.length - 1].toFixed(2)} s |\n`);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  process.stderr.write(`stop-time: ${err.stack}\n`);
  process.exit(1);
});
