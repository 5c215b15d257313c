// npm run demo: a collector on embedded SQLite, the agent run natively as the baseline,
// once more under another label, and the comparison printed. The second native run should
// come out near 1.0: the first check that the statistics are honest.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { compare, createLogger, formatComparison, startCollector } from '@guestbench/collector';

const USAGE = `npm run demo [-- --profile smoke|quick] [--keep-serving] [--json]

Starts a collector (data/demo.db, recreated), runs the agent twice natively (the baseline
"native" and a repeat "native/repeat"), prints the comparison, and says where the API is.
  --profile NAME    agent profile (default smoke: seconds per benchmark)
  --keep-serving    keep the collector running after the comparison (default: on a terminal)
  --json            print the comparison as JSON
`;

const repoRoot = path.resolve(__dirname, '..', '..');
const agentCli = path.join(path.dirname(require.resolve('@guestbench/agent/package.json')), 'dist', 'cli', 'main.js');

function runAgent(collector: string, profile: string, label: string | undefined): Promise<number> {
  const args = [agentCli, 'run', '--collector', collector, '--profile', profile, '--platform', 'native'];
  if (label !== undefined) args.push('--label', label);
  process.stderr.write(`\n$ guestbench-agent ${args.slice(1).join(' ')}\n`);
  return new Promise((resolve, reject) => {
    // The agent's JSON log lines go to a file; its summary line comes through.
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'inherit', 'pipe'] });
    const logFile = fs.createWriteStream(path.join(repoRoot, 'data', `demo-agent-${label ?? 'baseline'}.log`));
    child.stderr.pipe(logFile);
    child.stderr.on('data', (chunk: Buffer) => {
      for (const line of chunk.toString('utf8').split('\n')) {
        try {
          const ev = JSON.parse(line) as { event?: string; benchmark?: string; acked?: number; status?: string };
          if (ev.event === 'samples-acked') process.stderr.write(`  ${ev.benchmark}: ${ev.acked} samples acknowledged\n`);
          else if (ev.event === 'benchmark-failed' || ev.event === 'samples-not-acked') process.stderr.write(`  ${line}\n`);
        } catch {
          if (line.trim() !== '') process.stderr.write(`  ${line}\n`);
        }
      }
    });
    child.on('error', reject);
    child.on('exit', (code) => resolve(code ?? 1));
  });
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { profile: { type: 'string' }, 'keep-serving': { type: 'boolean' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
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
    if ((await runAgent(collector.grpcAddress, profile, undefined)) !== 0) failures++;
    if ((await runAgent(collector.grpcAddress, profile, 'repeat')) !== 0) failures++;
    const result = await compare(collector.store, { baseline: 'native' });
    process.stdout.write('\n');
    process.stdout.write(values.json === true ? `${JSON.stringify(result, null, 2)}\n` : `${formatComparison(result)}\n`);
    const repeat = result.groups.find((g) => g.key === 'native/repeat');
    if (repeat !== undefined) {
      const rows = repeat.benchmarks.filter((b) => b.relative !== undefined);
      const covering = rows.filter((b) => b.ciLow !== undefined && b.ciHigh !== undefined && b.ciLow <= 1 && b.ciHigh >= 1);
      process.stdout.write(
        `\nSanity check: the repeat native run against the baseline: overall ${repeat.overallGeomean?.toFixed(3) ?? '-'}; ` +
          `the 95% interval contains 1.0 for ${covering.length} of ${rows.length} metrics.\n`,
      );
    }
    process.stdout.write(
      `\nAPI: ${collector.httpUrl}/api/v1/compare?baseline=native · ${collector.httpUrl}/api/v1/runs\n` +
        `Serve these results again: npx guestbench-collector serve --db ${path.relative(process.cwd(), db)}\n`,
    );
    const keep = values['keep-serving'] ?? process.stdout.isTTY === true;
    if (keep) {
      process.stdout.write('The collector keeps serving; press Ctrl-C to stop.\n');
      await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
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
