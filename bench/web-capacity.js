#!/usr/bin/env node
// Benchmark of guestbench itself: can its built-in load generator load a web server as hard
// as ab and wrk do, and does it measure the same latencies? Against one nginx serving the
// agent's /static/small at 32 connections, with and without keep-alive, it alternates the
// built-in generator (1 thread) with ab and the built-in generator (N worker threads) with
// wrk -tN, round after round, and reports the median of the per-round ratios. The built-in
// generator runs on its default transport (libuv TCP handles); --transports adds rows for
// its node:net and undici transports.
//
// Usage: node bench/web-capacity.js [--seconds S] [--rounds R] [--threads N] [--connections C]
//                                   [--nginx-workers W] [--transports] [--json]
// Needs the built agent (npm run bench:web builds it) and nginx, ab and wrk
// (bench/scripts/ensure-web-tools.sh installs them when it can).
'use strict';
const { execFileSync, spawn } = require('node:child_process');
const { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { parseArgs } = require('node:util');

const AGENT = path.join(__dirname, '..', 'agent', 'dist');

const USAGE = `Usage: node bench/web-capacity.js [--seconds S] [--rounds R] [--threads N] [--connections C] [--nginx-workers W] [--transports] [--json]
  --seconds S        length of each measurement (default 5)
  --rounds R         alternations of each pair (default 3); the ratio reported is the median of the rounds
  --threads N        worker threads of the built-in generator and wrk's -t (default 2)
  --connections C    concurrent connections (default 32)
  --nginx-workers W  nginx worker processes (default 1: on a 2-CPU machine, one CPU for nginx, one for the generator)
  --transports       add rows for the built-in generator's node:net and undici transports against ab
  --json             print the results as JSON instead of tables
`;

/** Goals of issue 6. */
const GOALS = { ab: 1.0, wrk: 0.8, latency: 0.25 };

function options(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      seconds: { type: 'string', default: '5' },
      rounds: { type: 'string', default: '3' },
      threads: { type: 'string', default: '2' },
      connections: { type: 'string', default: '32' },
      'nginx-workers': { type: 'string', default: '1' },
      transports: { type: 'boolean' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
      'child-load': { type: 'string' },
    },
    strict: true,
  });
  const int = (name, min) => {
    const v = Number(values[name]);
    if (!Number.isInteger(v) || v < min) throw new Error(`--${name} must be a whole number ≥ ${min}, got ${values[name]}`);
    return v;
  };
  const seconds = Number(values.seconds);
  if (!(seconds > 0)) throw new Error(`--seconds must be above 0, got ${values.seconds}`);
  return {
    help: values.help === true,
    childLoad: values['child-load'],
    json: values.json === true,
    transports: values.transports === true,
    seconds,
    rounds: int('rounds', 1),
    threads: int('threads', 1),
    connections: int('connections', 1),
    nginxWorkers: int('nginx-workers', 1),
  };
}

/** In a child process: one run of the built-in generator, its report as JSON on stdout. */
async function childLoad(json) {
  const { parseLoadOptions, runLoad } = require(path.join(AGENT, 'load', 'index.js'));
  const report = await runLoad(parseLoadOptions(JSON.parse(json)));
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function waitForPort(port, child) {
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) throw new Error(`nginx exited with ${child.exitCode}`);
    const ok = await new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nginx is not listening on ${port}`);
}

/** nginx in the foreground, on a free port, serving the agent's site; access log off. */
async function startNginx(work, workers) {
  const { writeSite } = require(path.join(AGENT, 'web', 'site.js'));
  const site = writeSite(path.join(work, 'site'), { largeBytes: 1024 * 1024 });
  const port = await freePort();
  const conf = path.join(work, 'nginx.conf');
  writeFileSync(
    conf,
    `worker_processes ${workers};
daemon off;
pid ${work}/nginx.pid;
error_log ${work}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  keepalive_requests 1000000;
  keepalive_timeout 60s;
  client_body_temp_path ${work}/body;
  proxy_temp_path ${work}/proxy;
  fastcgi_temp_path ${work}/fastcgi;
  uwsgi_temp_path ${work}/uwsgi;
  scgi_temp_path ${work}/scgi;
  server {
    listen 127.0.0.1:${port};
    root ${site.root};
    location = /static/small { default_type "text/html; charset=utf-8"; }
  }
}
`,
  );
  // nginx's workers run as an unprivileged user when started by root: let them read the site.
  for (const d of [work, site.root, site.staticDir]) chmodSync(d, 0o755);
  const child = spawn('nginx', ['-c', conf, '-p', work], { stdio: ['ignore', 'ignore', 'inherit'] });
  await waitForPort(port, child);
  await checkPage(`http://127.0.0.1:${port}/static/small`);
  return { url: `http://127.0.0.1:${port}/static/small`, child, version: nginxVersion() };
}

/** Refuses to measure a page that is not the 1 KiB /static/small answered with 200. */
function checkPage(url) {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        let n = 0;
        res.on('data', (d) => (n += d.length));
        res.on('end', () =>
          res.statusCode === 200 && n === 1024 ? resolve() : reject(new Error(`nginx answered ${res.statusCode} with ${n} bytes for ${url}`)),
        );
      })
      .once('error', reject);
  });
}

function nginxVersion() {
  try {
    return execFileSync('sh', ['-c', 'nginx -v 2>&1'], { encoding: 'utf8' })
      .trim()
      .replace(/^nginx version: /, '');
  } catch {
    return 'nginx';
  }
}

const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/** CPU seconds (user + system) of every nginx worker, from /proc. */
function nginxCpu(masterPid) {
  let total = 0;
  for (const pid of readFileSync(`/proc/${masterPid}/task/${masterPid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean)) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      total += (Number(f[11]) + Number(f[12])) / CLOCK_TICKS; // utime + stime
    } catch {
      // A worker that went away.
    }
  }
  return total;
}

/** Runs a command under /usr/bin/time; resolves with stdout and the command's CPU seconds. */
function timed(command, args) {
  return new Promise((resolve, reject) => {
    const child = spawn('/usr/bin/time', ['-f', 'cpu %U %S', command, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.once('error', reject);
    child.once('close', (code) => {
      const m = /cpu ([\d.]+) ([\d.]+)\s*$/.exec(err);
      if (code !== 0) return reject(new Error(`${command} ${args.join(' ')} exited with ${code}: ${err.trim().split('\n').slice(-3).join(' ')}`));
      resolve({ out, cpu: m ? Number(m[1]) + Number(m[2]) : NaN });
    });
  });
}

/** wrk's "50%  1.23ms" → milliseconds. */
function wrkTime(v, unit) {
  return Number(v) * ({ us: 0.001, ms: 1, s: 1000, m: 60000 }[unit] ?? NaN);
}

function parseWrk(text) {
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(text);
  if (rps === null) throw new Error(`wrk gave no Requests/sec: ${text.slice(-300)}`);
  const pct = {};
  for (const m of text.matchAll(/^\s+(50|75|90|99)%\s+([\d.]+)(us|ms|s|m)\s*$/gm)) pct[m[1]] = wrkTime(m[2], m[3]);
  const errors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(text);
  const requests = /(\d+) requests in/.exec(text);
  return {
    rps: Number(rps[1]),
    p50: pct['50'],
    p90: pct['90'],
    p99: pct['99'],
    errors: (errors ? errors.slice(1).reduce((a, b) => a + Number(b), 0) : 0) + (non2xx ? Number(non2xx[1]) : 0),
    requests: requests ? Number(requests[1]) : NaN,
  };
}

async function runBuiltin(url, o, keepAlive, threads, transport) {
  const input = { url, concurrency: o.connections, durationSeconds: o.seconds, keepAlive, threads, transport };
  const { out, cpu } = await timed(process.execPath, [__filename, '--child-load', JSON.stringify(input)]);
  const r = JSON.parse(out);
  const failed = r.failedRequests + r.non2xxResponses;
  // wrk times a request from its send to its last byte, without the connect: ab's Processing.
  const p = r.processingPercentiles ?? r.percentiles;
  return { rps: r.requestsPerSecond, p50: p['50'], p90: p['90'], p99: p['99'], errors: failed, requests: r.completeRequests, cpu };
}

/** The least a Node client can do per request without keep-alive (bench/lib/bare-connect-client.js). */
async function runBare(url, o) {
  const { out, cpu } = await timed(process.execPath, [path.join(__dirname, 'lib', 'bare-connect-client.js'), url, String(o.connections), String(o.seconds)]);
  const r = JSON.parse(out);
  return { rps: r.rps, p50: NaN, p90: NaN, p99: NaN, errors: r.failed, requests: r.requests, cpu };
}

async function runAb(url, o, keepAlive) {
  const { parseAbOutput } = require(path.join(AGENT, 'load', 'index.js'));
  const args = ['-q', '-c', String(o.connections), '-t', String(Math.ceil(o.seconds)), '-n', '10000000', '-r', ...(keepAlive ? ['-k'] : []), url];
  const { out, cpu } = await timed('ab', args);
  const r = parseAbOutput(out);
  return {
    rps: r.requestsPerSecond,
    p50: r.percentiles['50'],
    p90: r.percentiles['90'],
    p99: r.percentiles['99'],
    errors: r.failedRequests + r.non2xxResponses,
    requests: r.completeRequests,
    cpu,
  };
}

async function runWrk(url, o, keepAlive, threads) {
  const args = [
    '-t',
    String(threads),
    '-c',
    String(o.connections),
    '-d',
    `${Math.ceil(o.seconds)}s`,
    '--latency',
    ...(keepAlive ? [] : ['-H', 'Connection: close']),
    url,
  ];
  const { out, cpu } = await timed('wrk', args);
  return { ...parseWrk(out), cpu };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** Alternates A and B for `rounds`, B first in odd rounds so that neither always goes first. */
async function pair(rounds, a, b, log) {
  const rows = [];
  for (let i = 0; i < rounds; i++) {
    const first = i % 2 === 0;
    const ra = first ? await a() : undefined;
    const rb = await b();
    const raa = ra ?? (await a());
    rows.push({ a: raa, b: rb, ratio: raa.rps / rb.rps });
    log(`  round ${i + 1}: ${raa.rps.toFixed(0)} vs ${rb.rps.toFixed(0)} req/s (×${(raa.rps / rb.rps).toFixed(2)})`);
  }
  return rows;
}

function summary(name, refName, goal, rows, nginx) {
  const ratios = rows.map((r) => r.ratio);
  const perReq = (xs) => median(xs.map((x) => (x.cpu / x.requests) * 1e6));
  return {
    name,
    reference: refName,
    goal,
    builtinRps: median(rows.map((r) => r.a.rps)),
    referenceRps: median(rows.map((r) => r.b.rps)),
    ratio: median(ratios),
    ratioMin: Math.min(...ratios),
    ratioMax: Math.max(...ratios),
    builtinCpuUsPerRequest: perReq(rows.map((r) => r.a)),
    referenceCpuUsPerRequest: perReq(rows.map((r) => r.b)),
    nginxCpuShare: nginx,
    errors: rows.reduce((n, r) => n + r.a.errors + r.b.errors, 0),
    met: goal === undefined ? undefined : median(ratios) >= goal,
    latency: {
      builtin: { p50: median(rows.map((r) => r.a.p50)), p90: median(rows.map((r) => r.a.p90)), p99: median(rows.map((r) => r.a.p99)) },
      reference: { p50: median(rows.map((r) => r.b.p50)), p90: median(rows.map((r) => r.b.p90)), p99: median(rows.map((r) => r.b.p99)) },
    },
  };
}

function table(results, o, nginxVersion) {
  const f = (v, d = 0) => (v === undefined || Number.isNaN(v) ? '–' : v.toFixed(d));
  const lines = [
    `${o.connections} connections, ${o.seconds} s per measurement, ${o.rounds} rounds alternating, ${nginxVersion} with ${o.nginxWorkers} worker(s) serving /static/small (1 KiB), ${os.cpus().length} CPUs, load average at start ${os.loadavg()[0].toFixed(2)}`,
    '',
    '| setting | built-in req/s | reference | reference req/s | ratio (median, min–max) | goal | met | CPU µs/request built-in / reference | errors |',
    '|---|---:|---|---:|---|---:|:-:|---:|---:|',
  ];
  for (const r of results) {
    lines.push(
      `| ${r.name} | ${f(r.builtinRps)} | ${r.reference} | ${f(r.referenceRps)} | ×${f(r.ratio, 2)} (${f(r.ratioMin, 2)}–${f(r.ratioMax, 2)}) | ${r.goal === undefined ? '–' : `≥ ×${r.goal}`} | ${r.met === undefined ? '–' : r.met ? 'yes' : 'no'} | ${f(r.builtinCpuUsPerRequest, 1)} / ${f(r.referenceCpuUsPerRequest, 1)} | ${r.errors} |`,
    );
  }
  lines.push(
    '',
    `Latency in the same closed loops, built-in vs wrk --latency, both from send to last byte (ms; goal: within ±${GOALS.latency * 100}%)`,
    '',
    '| setting | | built-in | wrk | ratio | within ±25% |',
    '|---|---|---:|---:|---:|:-:|',
  );
  for (const r of results.filter((x) => x.reference.startsWith('wrk'))) {
    for (const p of ['p50', 'p90', 'p99']) {
      const a = r.latency.builtin[p];
      const b = r.latency.reference[p];
      const ratio = a / b;
      lines.push(`| ${r.name} vs ${r.reference} | ${p} | ${f(a, 3)} | ${f(b, 3)} | ×${f(ratio, 2)} | ${Math.abs(ratio - 1) <= GOALS.latency ? 'yes' : 'no'} |`);
    }
  }
  return lines.join('\n');
}

async function main(argv) {
  const o = options(argv);
  if (o.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (o.childLoad !== undefined) {
    await childLoad(o.childLoad);
    return 0;
  }
  try {
    execFileSync('bash', [path.join(__dirname, 'scripts', 'ensure-web-tools.sh'), '--for', 'capacity'], { stdio: 'inherit' });
  } catch {
    process.stderr.write('web-capacity: nginx, ab and wrk are needed (see the line above)\n');
    return 1;
  }
  const log = (line) => {
    if (!o.json) process.stderr.write(`${line}\n`);
  };
  const work = mkdtempSync(path.join(os.tmpdir(), 'gb-web-capacity-'));
  const nginx = await startNginx(work, o.nginxWorkers);
  const results = [];
  try {
    const measure = async (name, refName, goal, a, b) => {
      log(`${name}: built-in vs ${refName}`);
      const cpu0 = nginxCpu(nginx.child.pid);
      const t0 = process.hrtime.bigint();
      const rows = await pair(o.rounds, a, b, log);
      const share = (nginxCpu(nginx.child.pid) - cpu0) / (Number(process.hrtime.bigint() - t0) / 1e9);
      results.push(summary(name, refName, goal, rows, share));
    };
    for (const keepAlive of [true, false]) {
      const ka = keepAlive ? 'keep-alive' : 'no keep-alive';
      await measure(
        `${ka}, 1 thread`,
        'ab',
        GOALS.ab,
        () => runBuiltin(nginx.url, o, keepAlive, 1, 'handle'),
        () => runAb(nginx.url, o, keepAlive),
      );
      await measure(
        `${ka}, ${o.threads} threads`,
        `wrk -t${o.threads}`,
        GOALS.wrk,
        () => runBuiltin(nginx.url, o, keepAlive, o.threads, 'handle'),
        () => runWrk(nginx.url, o, keepAlive, o.threads),
      );
      if (o.threads !== 1) {
        // One thread each: generator and nginx then have a CPU each on a 2-CPU machine.
        await measure(
          `${ka}, 1 thread`,
          'wrk -t1',
          undefined,
          () => runBuiltin(nginx.url, o, keepAlive, 1, 'handle'),
          () => runWrk(nginx.url, o, keepAlive, 1),
        );
        // ab has one thread; the built-in generator may use more where the machine has room.
        await measure(
          `${ka}, ${o.threads} threads`,
          'ab',
          undefined,
          () => runBuiltin(nginx.url, o, keepAlive, o.threads, 'handle'),
          () => runAb(nginx.url, o, keepAlive),
        );
      }
      if (!keepAlive) {
        // How close can Node get at all? The bare client: handles, no parsing, no timing.
        await measure(
          `${ka}, bare Node client (floor)`,
          'ab',
          undefined,
          () => runBare(nginx.url, o),
          () => runAb(nginx.url, o, keepAlive),
        );
      }
      if (o.transports) {
        for (const transport of ['net', 'undici']) {
          await measure(
            `${ka}, 1 thread, ${transport} transport`,
            'ab',
            undefined,
            () => runBuiltin(nginx.url, o, keepAlive, 1, transport),
            () => runAb(nginx.url, o, keepAlive),
          );
        }
      }
    }
  } finally {
    nginx.child.kill('SIGQUIT');
    await new Promise((r) => nginx.child.once('exit', r));
    rmSync(work, { recursive: true, force: true });
  }
  if (o.json) process.stdout.write(`${JSON.stringify({ options: o, nginx: nginx.version, cpus: os.cpus().length, results }, null, 2)}\n`);
  else process.stdout.write(`${table(results, o, nginx.version)}\n`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`web-capacity: ${err.message}\n`);
    process.exitCode = 1;
  },
);
