// Settings and runs the collector would refuse, with real processes: the agent refuses a bad
// setting itself, naming its source, before anything runs; and when the collector answers
// INVALID_ARGUMENT the agent stops with the collector's words, sets the run aside and never
// retries it (not for the 600 s delivery window, not at the next start).
import fs from 'node:fs';
import path from 'node:path';
import { Server, ServerCredentials, status as GrpcStatus, type ServiceError } from '@grpc/grpc-js';
import { AgentServiceService, Direction, EndRunRequest, EnrollRequest, RunStatus, Sample, sampleId, StartRunRequest } from '@guestbench/proto';
import { AGENT_CLI, runCli, startHarness, type Harness } from '../helpers/collector-harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

/** The agent's JSON log events on stderr. */
function events(stderr: string): Record<string, unknown>[] {
  return stderr.split('\n').flatMap((line) => {
    try {
      return [JSON.parse(line) as Record<string, unknown>];
    } catch {
      return [];
    }
  });
}

const names = (stderr: string): unknown[] => events(stderr).map((e) => e['event']);

test('a label the collector would refuse, from the environment, stops the agent before anything runs, naming the source', async () => {
  const state = path.join(h.dir, 'state-env');
  const res = await runCli(AGENT_CLI, ['run', '--collector', h.collector.grpcAddress, '--profile', 'smoke', '--platform', 'native', '--state-dir', state], {
    GUESTBENCH_LABEL: 'lab 1',
  });
  expect(res.code).toBe(1);
  expect(res.stderr).toContain(
    'guestbench-agent: label from environment GUESTBENCH_LABEL: expected 1 to 64 letters, digits and . _ - = (no spaces, slashes or commas), got "lab 1"',
  );
  expect(names(res.stderr)).not.toContain('benchmark-start');
  expect(fs.existsSync(path.join(state, 'spool'))).toBe(false);
  expect(await h.collector.store.listRuns()).toEqual([]);
});

/** Writes a finished run into `stateDir`'s spool the way an agent that ended leaves it (pid 0: no owner). */
function spoolRun(stateDir: string, runId: string, label: string): void {
  const dir = path.join(stateDir, 'spool', runId);
  fs.mkdirSync(path.join(dir, 'samples'), { recursive: true });
  const enroll: EnrollRequest = {
    agentId: 'older-agent',
    hostname: 'older',
    declaredPlatform: 'native',
    detected: { platform: 'native', evidence: [] },
    inventory: undefined,
    agentVersion: '0.0.9',
  };
  const start: StartRunRequest = { runId, agentId: 'older-agent', profile: 'smoke', label, agentVersion: '0.0.9', startedAtMs: Date.now(), jobId: '' };
  const end: EndRunRequest = { runId, status: RunStatus.RUN_STATUS_COMPLETED, error: '', sampleCount: 1, endedAtMs: Date.now(), failedBenchmarks: [] };
  fs.writeFileSync(
    path.join(dir, 'run.json'),
    JSON.stringify({
      agentId: 'older-agent',
      pid: 0,
      enroll: EnrollRequest.toJSON(enroll),
      start: StartRunRequest.toJSON(start),
      end: EndRunRequest.toJSON(end),
    }),
  );
  const sample: Sample = {
    id: sampleId(runId, 'cpu.int32', 'ops'),
    benchmarkId: 'cpu.int32',
    metric: 'ops',
    unit: 'ops/s',
    direction: Direction.DIRECTION_HIGHER_IS_BETTER,
    value: 2,
    trials: [1, 2, 3],
    trialCount: 3,
    rsd: 0.4,
    stealFraction: 0,
    parameters: {},
    primary: true,
    clocksource: 'tsc',
    durationSeconds: 1,
    finishedAtMs: Date.now(),
    flags: [],
  };
  fs.writeFileSync(path.join(dir, 'samples', `${Buffer.from(sample.id).toString('base64url')}.pb`), Sample.encode(sample).finish());
}

test('a spooled run the collector refuses is set aside with its reason, the others are delivered, and the agent stops before running anything', async () => {
  const state = path.join(h.dir, 'state-leftover');
  // Left by an older agent that did not check labels.
  spoolRun(state, 'refused-run', 'lab 1');
  spoolRun(state, 'good-run', 'older');

  const run = await runCli(AGENT_CLI, ['run', '--collector', h.collector.grpcAddress, '--profile', 'smoke', '--platform', 'native', '--state-dir', state]);
  expect(run.code).toBe(1);
  expect(run.stderr).toMatch(
    /guestbench-agent: StartRun to 127\.0\.0\.1:\d+ failed: label: expected 1 to 64 letters, digits and \. _ - = \(no spaces, slashes or commas\), got "lab 1" \(or empty\)/,
  );
  expect(names(run.stderr)).toContain('spool-run-refused');
  expect(names(run.stderr)).not.toContain('benchmark-start');
  expect(names(run.stderr)).not.toContain('spool-not-delivered');

  expect(fs.readdirSync(path.join(state, 'spool'))).toEqual([]);
  expect(fs.readFileSync(path.join(state, 'rejected', 'refused-run', 'reason.txt'), 'utf8')).toMatch(/label: expected 1 to 64 letters/);
  expect(fs.readdirSync(path.join(state, 'rejected', 'refused-run', 'samples'))).toHaveLength(1);
  const stored = await h.collector.store.listRuns();
  expect(stored.map((r) => [r.id, r.label, r.status])).toEqual([['good-run', 'older', 'completed']]);

  // The next start finds nothing to retry.
  const flush = await runCli(AGENT_CLI, ['flush', '--collector', h.collector.grpcAddress, '--state-dir', state, '--json']);
  expect(flush.code).toBe(0);
  expect(JSON.parse(flush.stdout)).toMatchObject({ delivered: 0, runsLeft: 0 });
});

test('INVALID_ARGUMENT at enrollment stops the agent at once with the collector\'s words, never "unreachable", with nothing spooled', async () => {
  // A collector with a stricter rule than this agent knows (another version): a real gRPC
  // server on a real socket that refuses every enrollment as invalid.
  const server = new Server();
  const refuse = (_call: unknown, callback: (err: Partial<ServiceError>) => void): void => {
    callback({ code: GrpcStatus.INVALID_ARGUMENT, details: 'hostname: at most 8 characters in this collector' });
  };
  const unimplemented = (_call: unknown, callback: (err: Partial<ServiceError>) => void): void =>
    callback({ code: GrpcStatus.UNIMPLEMENTED, details: 'not here' });
  server.addService(AgentServiceService, Object.fromEntries(Object.keys(AgentServiceService).map((m) => [m, m === 'enroll' ? refuse : unimplemented])));
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  try {
    const state = path.join(h.dir, 'state-strict');
    const res = await runCli(AGENT_CLI, ['run', '--collector', `127.0.0.1:${port}`, '--profile', 'smoke', '--platform', 'native', '--state-dir', state]);
    expect(res.code).toBe(1);
    // The check before the run enrolls: the refusal stops the agent before anything is spooled.
    expect(res.stderr).toContain(
      `guestbench-agent: run: the collector at 127.0.0.1:${port} refused this agent's request: hostname: at most 8 characters in this collector; nothing ran`,
    );
    expect(res.stderr).not.toMatch(/could not be reached|unreachable/);
    expect(names(res.stderr)).not.toContain('collector-unreachable');
    expect(names(res.stderr)).not.toContain('delivery-retry');
    expect(names(res.stderr)).not.toContain('benchmark-start');
    expect(fs.existsSync(path.join(state, 'spool')) ? fs.readdirSync(path.join(state, 'spool')) : []).toEqual([]);
  } finally {
    server.forceShutdown();
  }
});
