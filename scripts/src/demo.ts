// npm run demo: a collector on embedded SQLite, the agent run natively as the baseline,
// once more under another label, then in a QEMU guest with the agent baked in, and the
// comparison printed. The second native run should come out near 1.0: the first check that
// the statistics are honest; the guest shows what emulation costs.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { parseArgs } from 'node:util';
import { compare, compareAa, createLogger, formatComparison, isAaError, startCollector } from '@guestbench/collector';
import { runWithProgress } from './image-progress';

const USAGE = `npm run demo [-- --profile smoke|quick] [--no-guest] [--keep-serving] [--json]

Starts a collector (data/demo.db, recreated), runs the agent natively four times, interleaved:
twice as the baseline "native", twice as "native/repeat", then boots a QEMU guest image with the agent baked in
(built on first use and cached in /var/cache/guestbench/images as root; KVM when usable,
emulation otherwise),
prints the comparison, and says where the API is.
  --profile NAME    agent profile (default smoke: seconds per benchmark)
  --no-guest        skip the QEMU guest
  --keep-serving    keep the collector running after the comparison (default: on a terminal)
  --json            print the comparison as JSON
`;

const repoRoot = path.resolve(__dirname, '..', '..');
const agentCli = path.join(path.dirname(require.resolve('@guestbench/agent/package.json')), 'dist', 'cli', 'main.js');

/**
 * Shows what the agent says for people (a line per finished benchmark: value, unit, RSD and
 * trials) and its failures; keeps everything, its JSON log lines too, in a file.
 */
function followAgentLog(stream: NodeJS.ReadableStream, logName: string): void {
  const logFile = fs.createWriteStream(path.join(repoRoot, 'data', logName));
  stream.pipe(logFile);
  readline.createInterface({ input: stream }).on('line', (line) => {
    try {
      const ev = JSON.parse(line) as { event?: string; benchmark?: string; acked?: number; msg?: string };
      if (ev.event === 'benchmark-failed' || ev.event === 'collector-unreachable')
        process.stderr.write(`  ${ev.event}: ${ev.benchmark ?? ''} ${ev.msg ?? ''}\n`);
    } catch {
      if (line.trim() !== '') process.stderr.write(`  ${line}\n`);
    }
  });
}

function runAgent(collector: string, profile: string, label: string | undefined, n: number): Promise<number> {
  const args = [
    agentCli,
    'run',
    '--collector',
    collector,
    '--profile',
    profile,
    '--platform',
    'native',
    '--state-dir',
    path.join(repoRoot, 'data', 'demo-agent-state'),
  ];
  if (label !== undefined) args.push('--label', label);
  process.stderr.write(`\n$ guestbench-agent ${args.slice(1).join(' ')}\n`);
  return new Promise((resolve, reject) => {
    // stdout is the samples table, the same numbers as the progress lines: only its last line
    // (acknowledged samples) is shown.
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    followAgentLog(child.stderr, `demo-agent-${n}-${label ?? 'baseline'}.log`);
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stdout.on('end', () => {
      const last = stdout.trim().split('\n').pop();
      if (last !== undefined && last !== '') process.stderr.write(`  ${last}\n`);
    });
    child.on('error', reject);
    child.on('exit', (code) => resolve(code ?? 1));
  });
}

function runStep(what: string, file: string, args: readonly string[], options: { quiet?: boolean } = {}): Promise<number> {
  const shown = file === process.execPath ? 'node' : path.relative(process.cwd(), file);
  process.stderr.write(`\n$ ${shown} ${args.map((a) => (a.startsWith(repoRoot) ? path.relative(process.cwd(), a) : a)).join(' ')}\n`);
  return new Promise((resolve) => {
    const child = spawn(file, [...args], { cwd: repoRoot, stdio: ['ignore', options.quiet === true ? 'ignore' : 'inherit', 'inherit'] });
    child.on('error', (err) => {
      process.stderr.write(`${what}: ${err.message}\n`);
      resolve(1);
    });
    child.on('exit', (code) => resolve(code ?? 1));
  });
}

/** deploy/image/build-image.sh, shown as one progress line, its output in `logFile`. */
function buildImage(logFile: string): Promise<number> {
  const script = path.join(repoRoot, 'deploy/image/build-image.sh');
  process.stderr.write(`$ ${path.relative(process.cwd(), script)}   (output: ${path.relative(process.cwd(), logFile)})\n`);
  return runWithProgress({ file: script, args: [], cwd: repoRoot, logFile, progress: process.stderr, tty: process.stderr.isTTY === true });
}

/**
 * The QEMU guest: installs what it needs (as root), builds or reuses the image, boots it with
 * the collector's address in SMBIOS and waits for its run. Returns false, having said why,
 * when the guest cannot join; the demo goes on without it.
 */
async function runGuest(grpcPort: number, profile: string): Promise<boolean> {
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const ensure = await runStep('packages', path.join(repoRoot, 'deploy/scripts/ensure-packages.sh'), isRoot ? [] : ['--check']);
  if (ensure !== 0) {
    process.stderr.write(
      '\nThe QEMU guest is skipped: install the packages named above (as root: deploy/scripts/ensure-packages.sh), then run the demo again.\n',
    );
    return false;
  }
  if (!isRoot) {
    process.stderr.write(
      '\nThe QEMU guest is skipped: building the guest image needs root (debootstrap). Run `sudo deploy/image/build-image.sh` once, then the demo again.\n',
    );
    const images = process.env['GUESTBENCH_IMAGE_DIR'] ?? path.join(repoRoot, '.cache/images');
    if (!fs.existsSync(path.join(images, 'guestbench-debian12.manifest.json'))) return false;
  } else {
    process.stderr.write('\nBuilding the guest image (cached: the first build takes a few minutes, later ones seconds)…\n');
    const buildLog = path.join(repoRoot, 'data', 'demo-image-build.log');
    if ((await buildImage(buildLog)) !== 0) {
      process.stderr.write(
        `\nThe QEMU guest is skipped: the image build failed; its output (debootstrap's too) is in ${path.relative(process.cwd(), buildLog)}.\n`,
      );
      return false;
    }
  }
  process.stderr.write('\nBooting the guest; its agent reads the collector from SMBIOS and runs the same profile (minutes under emulation)…\n');
  const code = await runStep('guest', process.execPath, [
    path.join(repoRoot, 'deploy/qemu/run-guest.js'),
    '--collector-port',
    String(grpcPort),
    '--profile',
    profile,
    '--label',
    'demo',
    '--serial-log',
    path.join(repoRoot, 'data', 'demo-guest.serial.log'),
    '--timeout',
    '1800',
    // The host side's context (accelerator, machine, CPU model, disk cache, NIC) with the run.
    '--record-to',
    `127.0.0.1:${grpcPort}`,
  ]);
  if (code !== 0) {
    process.stderr.write(
      `\nThe guest's run did not complete (exit ${code}); its console is in data/demo-guest.serial.log; a partial run is listed under the comparison with what failed.\n`,
    );
  }
  return code === 0;
}

/** A command that serves the demo's database again, read-only for others, from this folder. */
function serveAgainCommand(db: string): string {
  return `npx guestbench-collector serve --db ${path.relative(process.cwd(), db) || db} --http 127.0.0.1:8080 --grpc 127.0.0.1:50051`;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      profile: { type: 'string' },
      'keep-serving': { type: 'boolean' },
      json: { type: 'boolean' },
      'no-guest': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help === true) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (!fs.existsSync(agentCli)) throw new Error(`the agent is not built (${agentCli} missing); run \`npm run build\``);
  const profile = values.profile ?? 'smoke';
  const dataDir = path.join(repoRoot, 'data');
  fs.mkdirSync(dataDir, { recursive: true });
  const db = path.join(dataDir, 'demo.db');
  for (const f of [db, `${db}-wal`, `${db}-shm`]) fs.rmSync(f, { force: true });
  const logStream = fs.createWriteStream(path.join(dataDir, 'demo-collector.log'));
  const logger = createLogger({ destination: logStream });
  const collector = await startCollector({ grpcAddress: '127.0.0.1:0', httpAddress: '127.0.0.1:0', store: { sqliteFile: db }, logger, auth: 'none' });
  process.stderr.write('note: the demo collector runs with authentication OFF (as --insecure-no-auth): it listens on 127.0.0.1 only\n');
  process.stderr.write(`collector: gRPC ${collector.grpcAddress}, HTTP ${collector.httpUrl}, database ${path.relative(process.cwd(), db)}\n`);
  process.stderr.write(`collector log: ${path.relative(process.cwd(), path.join(dataDir, 'demo-collector.log'))}\n`);
  let failures = 0;
  try {
    // Two runs of each, interleaved: with two runs on both sides each run is one observation,
    // so the interval covers run-to-run variation (with one run it could only cover the
    // trial-to-trial noise, and would be too narrow), and drift cannot favour either group.
    for (const [n, label] of [undefined, 'repeat', undefined, 'repeat'].entries()) {
      // Exit 3 is a partial run: some benchmarks failed, the rest were measured and count.
      const code = await runAgent(collector.grpcAddress, profile, label, n + 1);
      if (code !== 0 && code !== 3) failures++;
    }
    if (values['no-guest'] !== true) await runGuest(collector.grpcPort, profile);
    const result = await compare(collector.store, { baseline: 'native' });
    process.stdout.write('\n');
    process.stdout.write(values.json === true ? `${JSON.stringify(result, null, 2)}\n` : `${formatComparison(result)}\n`);
    // Runs that are not complete, and what is missing from the table because of them.
    const incomplete = (await collector.store.listRuns({ statuses: ['partial', 'failed', 'lost', 'cancelled'] })).reverse();
    for (const run of incomplete) {
      const key = run.label === '' ? run.platform : `${run.platform}/${run.label}`;
      process.stdout.write(`\n${run.status} run ${run.id} (${key}, ${run.sampleCount} samples kept)${run.error === '' ? '' : `: ${run.error}`}\n`);
      for (const f of run.failedBenchmarks) process.stdout.write(`  ${f.benchmarkId} failed: ${f.reason}\n`);
    }
    // The A/A check: the repeat native group against the baseline. It can fail: "too noisy
    // to tell" (with what to run) and "disagrees" are answers, not errors, so the demo still
    // exits 0 on them.
    try {
      const { verdict } = await compareAa(collector.store, 'native', 'native/repeat');
      process.stdout.write(`\nSanity check (A/A: native/repeat against native): ${verdict.summary}\n`);
    } catch (err: unknown) {
      if (!isAaError(err)) throw err;
      process.stdout.write(`\nSanity check (A/A): not possible: ${err.message}\n`);
    }
    const baseline = result.groups.find((g) => g.isBaseline);
    const notBare = baseline?.notes.find((n) => n.kind === 'baseline-not-bare-metal');
    process.stdout.write(
      notBare !== undefined
        ? `\nNote: ${notBare.text}.\n`
        : `\nThe baseline's runs were detected as ${[...new Set(baseline?.runs.map((r) => r.detectedPlatform || '?') ?? [])].join(', ') || 'nothing'}.\n`,
    );
    const keep = values['keep-serving'] ?? process.stdout.isTTY === true;
    const again = serveAgainCommand(db);
    if (keep) {
      process.stdout.write(
        `\nReport: ${collector.httpUrl}/ · API: ${collector.httpUrl}/api/v1/compare?baseline=native · ${collector.httpUrl}/api/v1/runs\n` +
          'The collector keeps serving; press Ctrl-C to stop. Later, serve these results again with:\n' +
          `  ${again}\n`,
      );
      await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
    } else {
      // This collector stops with the demo: point at a command that serves the results, not at it.
      process.stdout.write(`\nThe demo's collector has stopped. Serve these results (report and API on http://127.0.0.1:8080/) with:\n  ${again}\n`);
    }
  } finally {
    await collector.close();
  }
  return failures === 0 ? 0 : 1;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`demo: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
