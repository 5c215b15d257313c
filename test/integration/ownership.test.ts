// An agent's identity, runs, sample ids and log lines belong to it alone. A real collector
// process with real tokens; one client is the agent, a second one, with a valid token of its
// own, is the attacker (a compromised or buggy guest).
import { status as GrpcStatus } from '@grpc/grpc-js';
import type { AgentServiceClient } from '@guestbench/proto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SqliteStore } from '@guestbench/collector';
import { COLLECTOR_CLI, runCli } from '../helpers/collector-harness';
import { freePort, startCollectorProcess, type CollectorProcess } from '../helpers/collector-process';
import { agentClient, call, enrollReq, sampleFor, startReq } from '../helpers/grpc-calls';
import { duplicateKey } from '../helpers/json-keys';
import { generateTokenForTest } from '../helpers/tokens';

let dir: string;
let db: string;
let collector: CollectorProcess;
let c: AgentServiceClient;
let httpUrl: string;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gb-own-'));
  db = path.join(dir, 'collector.db');
  collector = await startCollectorProcess(db, await freePort(), [], { auth: 'tokens' });
  const ready = collector.events.find((e) => e['event'] === 'collector-ready')!;
  httpUrl = ready['http'] as string;
  c = agentClient(ready['grpc'] as string);
}, 90_000);

afterAll(async () => {
  c?.close();
  await collector?.kill('SIGTERM');
  fs.rmSync(dir, { recursive: true, force: true });
});

async function createToken(name: string, ...args: string[]): Promise<{ token: string; id: string }> {
  const res = await runCli(COLLECTOR_CLI, ['token', 'create', '--db', db, '--name', name, '--json', ...args]);
  expect(res.code).toBe(0);
  const out = JSON.parse(res.stdout) as { token: string; id: string };
  return { token: out.token, id: out.id };
}

async function tokenCli(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return runCli(COLLECTOR_CLI, ['token', ...args, '--db', db]);
}

async function listTokens(): Promise<Array<{ id: string; name: string; agentId?: string; state: string }>> {
  return JSON.parse((await tokenCli('list', '--json')).stdout) as Array<{ id: string; name: string; agentId?: string; state: string }>;
}

/** Reads the collector's database beside the running collector (WAL). */
async function withStore<T>(fn: (store: SqliteStore) => Promise<T>): Promise<T> {
  const store = new SqliteStore(db);
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

const rejected =
  (method: string, code: string, more: (e: Record<string, unknown>) => boolean = () => true) =>
  (e: Record<string, unknown>) =>
    e['event'] === 'request-rejected' && e['method'] === method && e['code'] === code && typeof e['reason'] === 'string' && more(e);

test('agent-id takeover: a second token cannot enroll a bound agent id; nothing changes; the pinned platform holds; only the operator moves the id', async () => {
  const owner = await createToken('owner', '--platform', 'kvm');
  const attacker = await createToken('attacker');
  await call(c, 'enroll', enrollReq('victim', { hostname: 'victim-host' }), owner.token);
  await call(c, 'startRun', startReq('victim', 'victim-run-1'), owner.token);

  // The attacker's own, valid, not yet bound token claims the victim's id, declaring xen.
  await expect(call(c, 'enroll', enrollReq('victim', { hostname: 'evil', declaredPlatform: 'xen' }), attacker.token)).rejects.toMatchObject({
    code: GrpcStatus.PERMISSION_DENIED,
    details: expect.stringMatching(/agent id victim belongs to another token; only an operator can move it/),
  });
  await collector.waitForEvent(rejected('Enroll', 'PERMISSION_DENIED', (e) => e['agentId'] === 'victim'));
  // Nothing changed: the agent record, the attacker's token (still unbound).
  await withStore(async (s) => expect(await s.getAgent('victim')).toMatchObject({ hostname: 'victim-host', platform: 'kvm', declaredPlatform: 'kvm' }));
  expect((await listTokens()).find((t) => t.name === 'attacker')?.agentId).toBeUndefined();

  // Without the binding, nothing the victim owns is reachable either.
  await expect(call(c, 'submitSamples', { runId: 'victim-run-1', samples: [sampleFor('victim-run-1')] }, attacker.token)).rejects.toMatchObject({
    code: GrpcStatus.PERMISSION_DENIED,
  });
  await expect(
    call(c, 'endRun', { runId: 'victim-run-1', status: 3, error: 'x', sampleCount: 0, endedAtMs: 1, failedBenchmarks: [] }, attacker.token),
  ).rejects.toMatchObject({ code: GrpcStatus.PERMISSION_DENIED });
  await expect(call(c, 'startRun', startReq('victim', 'attacker-run'), attacker.token)).rejects.toMatchObject({ code: GrpcStatus.PERMISSION_DENIED });
  await expect(
    call(c, 'heartbeat', { agentId: 'victim', runId: 'victim-run-1', currentBenchmark: '', takesJobs: false, guestMonotonicMs: 0 }, attacker.token),
  ).rejects.toMatchObject({ code: GrpcStatus.PERMISSION_DENIED });
  await withStore(async (s) => {
    expect(await s.getRun('victim-run-1')).toMatchObject({ status: 'running', sampleCount: 0, platform: 'kvm' });
    expect(await s.getRun('attacker-run')).toBeUndefined();
  });
  // The victim's next run is still filed under the platform pinned on its token.
  await call(c, 'enroll', enrollReq('victim', { hostname: 'victim-host', declaredPlatform: 'xen' }), owner.token);
  await call(c, 'startRun', startReq('victim', 'victim-run-2'), owner.token);
  await withStore(async (s) => expect((await s.getRun('victim-run-2'))?.platform).toBe('kvm'));

  // The operator moves the id: the old token is unbound and refused, the new one enrolls.
  const rebind = await tokenCli('rebind', 'attacker', '--agent', 'victim');
  expect(rebind.code).toBe(0);
  expect(rebind.stdout).toContain(`unbound agent token ${owner.id} "owner" from agent victim`);
  expect(rebind.stdout).toContain(`bound agent token ${attacker.id} "attacker" to agent victim`);
  await expect(call(c, 'startRun', startReq('victim', 'victim-run-3'), owner.token)).rejects.toMatchObject({ code: GrpcStatus.PERMISSION_DENIED });
  await call(c, 'enroll', enrollReq('victim'), attacker.token);
  // Revoking frees the id again.
  expect((await tokenCli('revoke', 'attacker')).code).toBe(0);
  await call(c, 'enroll', enrollReq('victim'), owner.token);
  expect((await listTokens()).find((t) => t.name === 'owner')?.agentId).toBe('victim');
  // Bad operator input changes nothing and says what would be right.
  const bad = await tokenCli('rebind', 'no-such-token', '--agent', 'victim');
  expect(bad.code).not.toBe(0);
  expect(bad.stderr).toMatch(/no active agent token with id or name "no-such-token"/);
  const badId = await tokenCli('rebind', 'owner', '--agent', 'not ok!');
  expect(badId.code).toBe(2);
  expect(badId.stderr).toMatch(/--agent: an agent id/);
}, 60_000);

test('sample-id squatting: an id must be <its own run>:<benchmark>:<metric>; the victim keeps its samples', async () => {
  const victim = await createToken('victim-2');
  const squatter = await createToken('squatter');
  await call(c, 'enroll', enrollReq('victim-2'), victim.token);
  await call(c, 'enroll', enrollReq('squatter'), squatter.token);
  await call(c, 'startRun', startReq('victim-2', 'v-run'), victim.token);
  await call(c, 'startRun', startReq('squatter', 's-run'), squatter.token);
  // The victim's run id is public (GET /api/v1/runs); the squatter files its ids in its own run.
  const runs = (await (await fetch(`${httpUrl}/api/v1/runs`)).json()) as { runs: Array<{ id: string }> };
  expect(runs.runs.map((r) => r.id)).toContain('v-run');
  await expect(call(c, 'submitSamples', { runId: 's-run', samples: [sampleFor('v-run')] }, squatter.token)).rejects.toMatchObject({
    code: GrpcStatus.INVALID_ARGUMENT,
    details: expect.stringMatching(
      /^samples\[0\]\.id: must be "<run_id>:<benchmark_id>:<metric>" of this run and sample, "s-run:cpu\.int32:throughput", got "v-run:cpu\.int32:throughput"/,
    ),
  });
  // An id of its own run that names another benchmark is refused too.
  await expect(
    call(c, 'submitSamples', { runId: 's-run', samples: [sampleFor('s-run', { id: 's-run:cpu.int64:throughput' })] }, squatter.token),
  ).rejects.toMatchObject({
    code: GrpcStatus.INVALID_ARGUMENT,
    details: expect.stringMatching(/samples\[0\]\.id/),
  });
  await collector.waitForEvent(rejected('SubmitSamples', 'INVALID_ARGUMENT', (e) => e['runId'] === 's-run'));
  const acked = await call<{ ackedSampleIds: string[] }>(c, 'submitSamples', { runId: 'v-run', samples: [sampleFor('v-run')] }, victim.token);
  expect(acked.ackedSampleIds).toEqual(['v-run:cpu.int32:throughput']);
  // The collector now remembers v-run's owner (group commit's fast path): still refused to another agent.
  await expect(
    call(c, 'submitSamples', { runId: 'v-run', samples: [sampleFor('v-run', { id: 'v-run:cpu.int64:throughput', benchmarkId: 'cpu.int64' })] }, squatter.token),
  ).rejects.toMatchObject({
    code: GrpcStatus.PERMISSION_DENIED,
    details: 'run v-run belongs to another agent',
  });
  await withStore(async (s) => {
    expect((await s.getSamples(['v-run'])).map((x) => x.id)).toEqual(['v-run:cpu.int32:throughput']);
    expect(await s.getSamples(['s-run'])).toEqual([]);
  });
});

test("forged log lines: a guest's fields stay under agentFields; agentId and runId are the authenticated ones", async () => {
  const forger = await createToken('forger');
  await call(c, 'enroll', enrollReq('forger'), forger.token);
  await call(c, 'startRun', startReq('forger', 'f-run'), forger.token);
  const forged = {
    event: 'run-ended',
    agentId: 'victim-2',
    runId: 'v-run',
    level: 60,
    component: 'agent-service',
    status: 'failed',
    msg: 'forged',
    time: 1,
    pid: 1,
  };
  await call(
    c,
    'sendLogs',
    { agentId: 'forger', runId: 'f-run', lines: [{ timeMs: 5, level: 'info', message: 'guest says hello', fieldsJson: JSON.stringify(forged) }] },
    forger.token,
  );
  const line = await collector.waitForEvent((e) => e['msg'] === 'guest says hello');
  expect(line).toMatchObject({ event: 'agent-log', component: 'agent', agentId: 'forger', runId: 'f-run', level: 30, agentTime: 5, agentFields: forged });
  const raw = collector.lines.find((l) => l.includes('guest says hello'))!;
  expect(duplicateKey(raw)).toBeUndefined();
  // Lines for another agent's run, or in another agent's name, are refused.
  await expect(call(c, 'sendLogs', { agentId: 'forger', runId: 'v-run', lines: [] }, forger.token)).rejects.toMatchObject({
    code: GrpcStatus.PERMISSION_DENIED,
  });
  await expect(call(c, 'sendLogs', { agentId: 'victim-2', runId: '', lines: [] }, forger.token)).rejects.toMatchObject({ code: GrpcStatus.PERMISSION_DENIED });
  // No run-ended event came from the guest's words.
  expect(collector.events.filter((e) => e['event'] === 'run-ended' && e['runId'] === 'v-run')).toEqual([]);
});

test('refusals: one request-rejected event each; unknown token id and wrong secret get the same answer; token list shows expired tokens', async () => {
  const known = await createToken('known');
  const unknownId = `gbt_000000000000_${'a'.repeat(43)}`;
  const wrongSecret = `gbt_${known.id}_${'b'.repeat(43)}`;
  const a = await call(c, 'enroll', enrollReq('probe'), unknownId).catch((e: unknown) => e as { code: number; details: string });
  const b = await call(c, 'enroll', enrollReq('probe'), wrongSecret).catch((e: unknown) => e as { code: number; details: string });
  expect(a).toMatchObject({ code: GrpcStatus.UNAUTHENTICATED });
  expect(b).toEqual(a);
  await expect(call(c, 'heartbeat', { agentId: 'probe', runId: '', currentBenchmark: '', takesJobs: false, guestMonotonicMs: 0 })).rejects.toMatchObject({
    code: GrpcStatus.UNAUTHENTICATED,
  });
  await collector.waitForEvent(rejected('Heartbeat', 'UNAUTHENTICATED'));
  // The operator's log tells the two apart; the caller cannot.
  const probes = collector.events.filter(rejected('Enroll', 'UNAUTHENTICATED', (e) => e['agentId'] === 'probe'));
  expect(probes.map((e) => e['detail'])).toEqual([expect.stringMatching(/unknown token id/), expect.stringMatching(/wrong secret for token/)]);
  expect(collector.events.filter((e) => e['event'] === 'auth-failed')).toEqual([]);
  // HTTP refusals are the same event.
  expect((await fetch(`${httpUrl}/api/v1/jobs`, { method: 'POST', body: '{}' })).status).toBe(401);
  await collector.waitForEvent((e) => e['event'] === 'request-rejected' && e['status'] === 401);

  const expired = generateTokenForTest('expired-one', Date.now() - 1000);
  await withStore((s) => s.createToken(expired.record));
  expect((await listTokens()).find((t) => t.name === 'expired-one')?.state).toBe('expired');
  expect((await tokenCli('list')).stdout).toMatch(/expired-one .* expired \d{4}-/);
  expect((await listTokens()).find((t) => t.name === 'known')?.state).toBe('active');
});

test('GET /api/v1/compare validates its label as documented', async () => {
  const res = await fetch(`${httpUrl}/api/v1/compare?label=${encodeURIComponent('no/slashes here')}`);
  expect(res.status).toBe(400);
  expect(((await res.json()) as { error: string }).error).toMatch(/^label: up to 64 letters, digits and \. _ - =/);
  expect((await fetch(`${httpUrl}/api/v1/compare?label=virtio-1.2`)).status).toBe(200);
});

test('every line the collector wrote is one JSON object with unique keys', () => {
  expect(collector.lines.length).toBeGreaterThan(20);
  const bad = collector.lines.map((l) => [l, duplicateKey(l)]).filter(([, d]) => d !== undefined);
  expect(bad).toEqual([]);
});
