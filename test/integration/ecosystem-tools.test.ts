// The collector as the ecosystem's tools see it: buf curl finds and calls every method by
// server reflection alone (no .proto files), the standard health check included; promtool
// accepts /metrics. promtool comes from Debian (scripts/ensure-promtool.sh installs it as
// root); where it cannot be had that test is skipped loudly, and under CI=true it fails.
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { AGENT_CLI, runCli, startHarness, type Harness } from '../helpers/collector-harness';

const run = promisify(execFile);
const BUF = require.resolve('@bufbuild/buf/bin/buf');
const PROMTOOL_SCRIPT = path.resolve(__dirname, '..', '..', 'scripts', 'ensure-promtool.sh');

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
  // One real run, so that the metrics have samples and ListRuns has something to list.
  const r = await runCli(AGENT_CLI, [
    'run',
    '--collector',
    h.collector.grpcAddress,
    '--only',
    'sys.clock',
    '--platform',
    'native',
    '--state-dir',
    path.join(h.dir, 'state'),
  ]);
  expect(r.code).toBe(0);
}, 120_000);

afterAll(async () => {
  await h?.close();
});

async function bufCurl(args: readonly string[]): Promise<string> {
  const { stdout } = await run(BUF, ['curl', '--protocol', 'grpc', '--http2-prior-knowledge', ...args], { timeout: 60_000 });
  return stdout;
}

test('buf curl lists every method by reflection and calls them without our .proto files', async () => {
  const url = `http://${h.collector.grpcAddress}`;
  const methods = (await bufCurl(['--list-methods', url])).trim().split('\n');
  expect(methods).toEqual(
    expect.arrayContaining([
      'grpc.health.v1.Health/Check',
      'guestbench.v1.AgentService/Enroll',
      'guestbench.v1.AgentService/SubmitSamples',
      'guestbench.v1.AgentService/WaitForJob',
      'guestbench.v1.QueryService/Compare',
      'guestbench.v1.QueryService/GetRun',
      'guestbench.v1.QueryService/ListRuns',
      'guestbench.v1.JobService/CreateJob',
      'guestbench.v1.JobService/ListJobs',
    ]),
  );
  expect(JSON.parse(await bufCurl(['-d', '{}', `${url}/grpc.health.v1.Health/Check`]))).toEqual({ status: 'SERVING' });
  expect(JSON.parse(await bufCurl(['-d', '{"service":"guestbench.v1.QueryService"}', `${url}/grpc.health.v1.Health/Check`]))).toEqual({ status: 'SERVING' });
  // A method whose messages use types of another file (Run from common.proto): reflection
  // must hand over both files, with the reference resolved.
  const runs = JSON.parse(await bufCurl(['-d', '{}', `${url}/guestbench.v1.QueryService/ListRuns`])) as {
    runs: { agentId: string; profile: string; platform: string }[];
  };
  expect(runs.runs).toHaveLength(1);
  expect(runs.runs[0]).toMatchObject({ platform: 'native', profile: 'smoke only=sys.clock' });
  const compare = JSON.parse(await bufCurl(['-d', '{"baseline":"native"}', `${url}/guestbench.v1.QueryService/Compare`])) as Record<string, unknown>;
  expect(typeof compare).toBe('object');
}, 120_000);

// grpcurl (not packaged by Debian 12, and not downloadable here) asks by the older
// v1alpha reflection protocol unless it is new enough to try v1 first: both must answer,
// each with the types of other files resolved.
test.each(['grpc-v1', 'grpc-v1alpha'])(
  'reflection protocol %s describes and calls a method across files',
  async (protocol) => {
    const url = `http://${h.collector.grpcAddress}`;
    const methods = (await bufCurl(['--reflect-protocol', protocol, '--list-methods', url])).trim().split('\n');
    expect(methods).toContain('guestbench.v1.QueryService/ListRuns');
    const runs = JSON.parse(await bufCurl(['--reflect-protocol', protocol, '-d', '{}', `${url}/guestbench.v1.QueryService/ListRuns`])) as {
      runs: { platform: string }[];
    };
    expect(runs.runs.map((r) => r.platform)).toEqual(['native']);
  },
  120_000,
);

function promtool(): string | undefined {
  try {
    return execFileSync('sh', ['-c', 'command -v promtool'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

const canHavePromtool = promtool() !== undefined || process.getuid?.() === 0;
if (!canHavePromtool) {
  const reason = 'promtool is not installed and this is not root, so it cannot be installed (as root: scripts/ensure-promtool.sh)';
  if (process.env['CI'] === 'true') throw new Error(`the /metrics check cannot run in CI: ${reason}`);
  process.stderr.write(`\n*** SKIPPED: promtool check of /metrics: ${reason} ***\n\n`);
}

(canHavePromtool ? test : test.skip)(
  'promtool check metrics accepts /metrics',
  async () => {
    let tool = promtool();
    if (tool === undefined) {
      process.stderr.write("guestbench tests: promtool is missing; installing Debian's prometheus package (scripts/ensure-promtool.sh)\n");
      const out = execFileSync('bash', [PROMTOOL_SCRIPT], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 900_000 });
      tool = out.trim().split('\n').pop();
    }
    const text = await (await fetch(`${h.collector.httpUrl}/metrics`)).text();
    expect(text).toMatch(/^guestbench_/m);
    const file = path.join(h.dir, 'metrics.txt');
    fs.writeFileSync(file, text);
    // promtool reads the exposition on stdin; it prints problems and exits 1 when there are any.
    const result = await new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = execFile('sh', ['-c', `"${tool}" check metrics < "${file}"`], (err, stdout, stderr) =>
        resolve({ code: err === null ? 0 : ((err as { code?: number }).code ?? 1), out: stdout + stderr }),
      );
      child.stdin?.end();
    });
    expect(result.out).toBe('');
    expect(result.code).toBe(0);
  },
  900_000,
);
