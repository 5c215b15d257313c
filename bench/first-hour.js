#!/usr/bin/env node
// bench:first-hour — what a newcomer waits for, on a fresh clone of this repository:
//   1. `npm ci`, then the first `npx guestbench-agent --version` (which must say "not built
//      yet"), `npm run build`, and `npx guestbench-agent --version` again (which must work);
//   2. `npm run demo` cold (a new image cache, so the guest image is built) and warm (again,
//      with the cache the cold run filled). Without --guest the demo runs --no-guest, and
//      cold and warm differ only in what the operating system has cached.
//
// Usage: node bench/first-hour.js [--no-demo] [--guest] [--keep] [--json]
//   --guest   include the QEMU guest (root; builds the image into a temporary cache: minutes,
//             and Debian's mirror must be reachable)
//   --keep    leave the clone (its path is printed)
// Prints a table of wall times. The clone is made with `git clone` of this repository's HEAD,
// so uncommitted changes are not in it.
'use strict';
const { spawn, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const args = new Set(process.argv.slice(2));
const known = new Set(['--no-demo', '--guest', '--keep', '--json']);
for (const a of args) {
  if (!known.has(a)) {
    process.stderr.write(`first-hour: unknown argument ${a} (known: ${[...known].join(', ')})\n`);
    process.exit(2);
  }
}

const repo = path.resolve(__dirname, '..');

/** Runs a command in the clone; resolves with its exit code, wall seconds and output. */
function timed(cwd, file, argv, env = {}) {
  const started = process.hrtime.bigint();
  return new Promise((resolve) => {
    const child = spawn(file, argv, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('close', (code) => resolve({ code, seconds: Number(process.hrtime.bigint() - started) / 1e9, out }));
  });
}

function lastLine(text) {
  return (
    text
      .trim()
      .split('\n')
      .filter((l) => l.trim() !== '')
      .pop() ?? ''
  );
}

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gb-first-hour-'));
  const clone = path.join(dir, 'guestbench');
  const rows = [];
  const step = async (name, file, argv, check, env) => {
    process.stderr.write(`first-hour: ${name}…\n`);
    const r = await timed(clone, file, argv, env);
    const verdict = check(r);
    rows.push({ step: name, seconds: r.seconds, ok: verdict === true, note: verdict === true ? lastLine(r.out).slice(0, 90) : verdict });
    if (verdict !== true) process.stderr.write(`first-hour: ${name}: ${verdict}\n${r.out.slice(-2000)}\n`);
    return verdict === true;
  };
  try {
    execFileSync('git', ['clone', '--quiet', '--no-hardlinks', repo, clone], { stdio: 'inherit' });
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: clone, encoding: 'utf8' }).trim();
    const npx = 'npx';
    const ok =
      (await step('npm ci', 'npm', ['ci', '--no-audit', '--no-fund'], (r) => r.code === 0 || `exit ${r.code}`)) &&
      (await step('npx guestbench-agent --version (before the build)', npx, ['--no-install', 'guestbench-agent', '--version'], (r) =>
        r.code === 1 && /not built yet/.test(r.out) ? true : `expected "not built yet", got exit ${r.code}: ${lastLine(r.out)}`,
      )) &&
      (await step('npm run build', 'npm', ['run', 'build'], (r) => r.code === 0 || `exit ${r.code}`)) &&
      (await step('npx guestbench-agent --version', npx, ['--no-install', 'guestbench-agent', '--version'], (r) =>
        r.code === 0 && /^guestbench-agent \d/.test(r.out) ? true : `exit ${r.code}: ${lastLine(r.out)}`,
      ));
    if (ok && !args.has('--no-demo')) {
      const demoArgs = ['run', 'demo', '--', ...(args.has('--guest') ? [] : ['--no-guest'])];
      // The cold run gets an empty image cache of its own; the warm run reuses it.
      const env = { GUESTBENCH_IMAGE_DIR: path.join(dir, 'images') };
      const demoOk = (r) => (r.code === 0 && /Sanity check/.test(r.out) ? true : `exit ${r.code}: ${lastLine(r.out)}`);
      await step(`npm run demo${args.has('--guest') ? '' : ' -- --no-guest'} (cold)`, 'npm', demoArgs, demoOk, env);
      await step(`npm run demo${args.has('--guest') ? '' : ' -- --no-guest'} (warm)`, 'npm', demoArgs, demoOk, env);
    }
    const load = os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ');
    if (args.has('--json')) {
      process.stdout.write(`${JSON.stringify({ commit: head, cpus: os.cpus().length, load, rows }, null, 2)}\n`);
    } else {
      process.stdout.write(`first hour on a fresh clone of ${head} (${os.cpus().length} CPUs, load average ${load} at the end)\n\n`);
      process.stdout.write('| step | wall time | ok | last line |\n|---|---|---|---|\n');
      for (const r of rows) process.stdout.write(`| ${r.step} | ${r.seconds.toFixed(1)} s | ${r.ok ? 'yes' : 'NO'} | ${r.note.replace(/\|/g, '\\|')} |\n`);
      const toVersion = rows.slice(0, 4).reduce((s, r) => s + r.seconds, 0);
      if (rows.length >= 4) process.stdout.write(`\nnpm ci to the first working \`npx guestbench-agent --version\`: ${toVersion.toFixed(1)} s\n`);
    }
    return rows.every((r) => r.ok) ? 0 : 1;
  } finally {
    if (args.has('--keep')) process.stderr.write(`first-hour: the clone stays in ${clone}\n`);
    else fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`first-hour: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
