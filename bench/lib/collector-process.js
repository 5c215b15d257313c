// Starts the built collector CLI as a child process on free ports with a fresh SQLite file,
// for benchmarks that load it from this process.
'use strict';
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const COLLECTOR_CLI = path.resolve(__dirname, '..', '..', 'collector', 'dist', 'cli', 'main.js');

function canListen(port) {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * A free port with the next one free too (the collector's default net sink), below the
 * kernel's ephemeral range (32768 and up on Linux): a port the kernel picked could be given
 * to one of the thousands of outgoing connections a bench makes before a collector binds it,
 * or rebinds it after a restart.
 */
async function freePort() {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if ((await canListen(port)) && (await canListen(port + 1))) return port;
  }
  throw new Error('no free port pair found between 20000 and 32000');
}

/**
 * Options: dir, db (a SQLite file or a postgres:// URL), grpcPort and httpPort (free ones by
 * default; give the same again to restart a collector in place), args (more serve flags),
 * cli (another build's collector/dist/cli/main.js, to compare with), nodeArgs (for node itself,
 * e.g. --cpu-prof).
 * @returns {Promise<{grpc: string, http: string, db: string, dir: string, pid: number, child: import('node:child_process').ChildProcess, stop: () => Promise<void>}>}
 */
async function startCollector(options = {}) {
  const dir = options.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'gb-bench-'));
  const db = options.db ?? path.join(dir, 'bench.db');
  const grpcPort = options.grpcPort ?? (await freePort());
  let httpPort = options.httpPort;
  while (httpPort === undefined || (options.httpPort === undefined && Math.abs(httpPort - grpcPort) <= 1)) httpPort = await freePort();
  const flags = [
    options.cli ?? COLLECTOR_CLI,
    'serve',
    '--grpc',
    `127.0.0.1:${grpcPort}`,
    '--http',
    `127.0.0.1:${httpPort}`,
    '--db',
    db,
    '--insecure-no-auth',
    '--log-level',
    'warn',
    ...(options.args ?? []),
  ];
  // With options.logFile, the collector's log lines and stderr are kept there (appended).
  const out = options.logFile === undefined ? 'ignore' : fs.openSync(options.logFile, 'a');
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), ...flags], {
    stdio: ['ignore', out, 'pipe'],
  });
  if (options.logFile !== undefined) {
    child.stderr.on('data', (d) => fs.appendFileSync(options.logFile, d));
    fs.closeSync(out);
  }
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  // ready when the HTTP health check answers
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const res = await fetch(`http://127.0.0.1:${httpPort}/healthz`);
      if (res.ok) break;
    } catch {
      /* not yet */
    }
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`collector did not start: ${stderr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    grpc: `127.0.0.1:${grpcPort}`,
    http: `http://127.0.0.1:${httpPort}`,
    db,
    dir,
    pid: child.pid,
    child,
    grpcPort,
    httpPort,
    /** Set while this process stops it on purpose. */
    stopping: false,
    /** What it wrote to stderr so far. */
    stderr: () => stderr,
    async stop() {
      this.stopping = true;
      await new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', resolve);
        child.kill('SIGTERM');
      });
    },
  };
}

function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function table(header, rows) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) => cells.map((c, i) => String(c).padStart(widths[i])).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

module.exports = { startCollector, freePort, percentile, table, COLLECTOR_CLI };
