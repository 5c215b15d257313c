// Tokens and TLS with real processes: who may write, what is refused, what is stored.
import { status as GrpcStatus } from '@grpc/grpc-js';
import type { AgentServiceClient, Sample } from '@guestbench/proto';
import { agentClient, call, enrollReq, sampleFor, startReq } from '../helpers/grpc-calls';
import { generateTokenForTest } from '../helpers/tokens';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { AGENT_CLI, COLLECTOR_CLI, runCli, startHarness, type Harness } from '../helpers/collector-harness';
import { makeTestCerts } from '../helpers/test-certs';

const client = (h: Harness): AgentServiceClient => agentClient(h.collector.grpcAddress);
const sample = (runId: string): Sample => sampleFor(runId);

async function tokenFromCli(h: Harness, ...args: string[]): Promise<string> {
  const res = await runCli(COLLECTOR_CLI, ['token', 'create', '--db', path.join(h.dir, 'guestbench.db'), ...args]);
  expect(res.code).toBe(0);
  expect(res.stderr).toMatch(/shown only now/);
  return res.stdout.trim();
}

describe('with tokens', () => {
  let h: Harness;
  let c: AgentServiceClient;
  beforeAll(async () => {
    h = await startHarness({ auth: 'tokens' });
    c = client(h);
  });
  afterAll(async () => {
    c?.close();
    await h?.close();
  });

  test('without a token: UNAUTHENTICATED, a log event, nothing stored', async () => {
    const res = await runCli(AGENT_CLI, [
      'run',
      '--collector',
      h.collector.grpcAddress,
      '--profile',
      'smoke',
      '--deliver-timeout',
      '0',
      '--state-dir',
      path.join(h.dir, 'state-none'),
    ]);
    expect(res.code).not.toBe(0);
    expect(res.stderr).toMatch(/no token: send "authorization: Bearer <token>"/);
    expect(h.logs.some((l) => l['event'] === 'request-rejected' && l['method'] === 'Enroll' && l['code'] === 'UNAUTHENTICATED')).toBe(true);
    expect(await h.collector.store.listRuns()).toEqual([]);
    await expect(call(c, 'enroll', enrollReq('x'), 'gbt_000000000000_' + 'a'.repeat(43))).rejects.toMatchObject({
      code: GrpcStatus.UNAUTHENTICATED,
      details: 'token not recognised: unknown token or wrong secret',
    });
    expect(await h.collector.store.getAgent('x')).toBeUndefined();
  });

  test('a real agent with its token runs and reports; the token is then bound to it, and only its hash is stored', async () => {
    const token = await tokenFromCli(h, '--name', 'guest-a', '--platform', 'kvm');
    const res = await runCli(
      AGENT_CLI,
      ['run', '--collector', h.collector.grpcAddress, '--profile', 'smoke', '--agent-id', 'agent-a', '--state-dir', path.join(h.dir, 'state-a')],
      { GUESTBENCH_TOKEN: token },
    );
    expect(res.code).toBe(0);
    const runs = await h.collector.store.listRuns();
    expect(runs).toHaveLength(1);
    // the platform declared on the token wins over what the agent detected
    expect(runs[0]).toMatchObject({ agentId: 'agent-a', platform: 'kvm', status: 'completed' });
    const list = await runCli(COLLECTOR_CLI, ['token', 'list', '--db', path.join(h.dir, 'guestbench.db'), '--json']);
    expect(JSON.parse(list.stdout)).toEqual([expect.objectContaining({ name: 'guest-a', agentId: 'agent-a', kind: 'agent' })]);
    // The whole secret: base64url has "_" in its alphabet, so splitting the token at "_" can cut
    // it short (seen: a one-character "8", which the token list's timestamps contained).
    const secret = /^gbt_[0-9a-f]{12}_(.+)$/.exec(token)?.[1] ?? '';
    expect(secret).toHaveLength(43);
    expect(fs.readFileSync(path.join(h.dir, 'guestbench.db')).includes(Buffer.from(secret))).toBe(false);
    expect(list.stdout).not.toContain(secret);
  }, 120_000);

  test("another agent id with a bound token, and a write to another agent's run, are PERMISSION_DENIED", async () => {
    const tokenA = (await h.collector.store.listTokens()).find((t) => t.name === 'guest-a')!;
    expect(tokenA.agentId).toBe('agent-a');
    const tokenB = await tokenFromCli(h, '--name', 'guest-b');
    await call(c, 'enroll', enrollReq('agent-b'), tokenB);
    const runA = (await h.collector.store.listRuns())[0]!;
    const before = (await h.collector.store.getSamples([runA.id])).length;
    await expect(call(c, 'submitSamples', { runId: runA.id, samples: [sample(runA.id)] }, tokenB)).rejects.toMatchObject({
      code: GrpcStatus.PERMISSION_DENIED,
    });
    await expect(
      call(c, 'endRun', { runId: runA.id, status: 3, error: 'x', sampleCount: 0, endedAtMs: 1, failedBenchmarks: [] }, tokenB),
    ).rejects.toMatchObject({ code: GrpcStatus.PERMISSION_DENIED });
    await expect(call(c, 'startRun', startReq('agent-a', 'run-by-b'), tokenB)).rejects.toMatchObject({ code: GrpcStatus.PERMISSION_DENIED });
    await expect(call(c, 'enroll', enrollReq('agent-c'), tokenB)).rejects.toMatchObject({
      code: GrpcStatus.PERMISSION_DENIED,
      details: expect.stringMatching(/is bound to agent agent-b/),
    });
    expect((await h.collector.store.getSamples([runA.id])).length).toBe(before);
    expect((await h.collector.store.getRun(runA.id))?.status).toBe('completed');
    expect(await h.collector.store.getRun('run-by-b')).toBeUndefined();
    expect(await h.collector.store.getAgent('agent-c')).toBeUndefined();
  });

  test('a revoked or expired token is refused', async () => {
    const token = await tokenFromCli(h, '--name', 'to-revoke');
    await call(c, 'enroll', enrollReq('agent-r'), token);
    const revoke = await runCli(COLLECTOR_CLI, ['token', 'revoke', 'to-revoke', '--db', path.join(h.dir, 'guestbench.db')]);
    expect(revoke.stdout).toMatch(/revoked agent token/);
    await expect(
      call(c, 'heartbeat', { agentId: 'agent-r', runId: '', currentBenchmark: '', takesJobs: false, guestMonotonicMs: 0 }, token),
    ).rejects.toMatchObject({
      code: GrpcStatus.UNAUTHENTICATED,
      details: expect.stringMatching(/was revoked/),
    });
    const expired = generateTokenForTest('old', Date.now() - 1000);
    await h.collector.store.createToken(expired.record);
    await expect(call(c, 'enroll', enrollReq('agent-old'), expired.token)).rejects.toMatchObject({
      code: GrpcStatus.UNAUTHENTICATED,
      details: expect.stringMatching(/expired/),
    });
  });

  test('the HTTP API is read-only without an operator token', async () => {
    const post = (auth?: string): Promise<Response> =>
      fetch(`${h.collector.httpUrl}/api/v1/jobs`, {
        method: 'POST',
        body: '{"profile":"smoke"}',
        headers: auth === undefined ? {} : { authorization: `Bearer ${auth}` },
      });
    expect((await post()).status).toBe(401);
    const agentToken = await tokenFromCli(h, '--name', 'not-operator');
    const asAgent = await post(agentToken);
    expect(asAgent.status).toBe(401);
    expect(((await asAgent.json()) as { error: string }).error).toMatch(/this call needs an operator token/);
    const operator = await tokenFromCli(h, '--name', 'ops', '--operator');
    const asOperator = await post(operator);
    // authorized; there is simply no daemon agent to give the job to
    expect(asOperator.status).toBe(409);
    expect((await fetch(`${h.collector.httpUrl}/api/v1/runs`)).status).toBe(200);
    const job = await runCli(COLLECTOR_CLI, ['job', 'create', '--collector', h.collector.grpcAddress]);
    expect(job.stderr).toMatch(/no token/);
    const job2 = await runCli(COLLECTOR_CLI, ['job', 'create', '--collector', h.collector.grpcAddress], { GUESTBENCH_OPERATOR_TOKEN: operator });
    expect(job2.stderr).toMatch(/no connected, idle agent/);
  });
});

describe('with mutual TLS', () => {
  let h: Harness;
  let certs: ReturnType<typeof makeTestCerts>;
  beforeAll(async () => {
    const dir = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'gb-certs-'));
    certs = makeTestCerts(dir);
    h = await startHarness({
      tls: { cert: fs.readFileSync(certs.serverCert), key: fs.readFileSync(certs.serverKey), clientCa: fs.readFileSync(certs.caCert) },
      // Beats often enough that the clock check has a span in a smoke run: with only two or
      // three beats it may keep one beat as both ends (see clockUpdateSql).
      heartbeatIntervalMs: 200,
    });
  });
  afterAll(async () => {
    await h?.close();
    fs.rmSync(certs.dir, { recursive: true, force: true });
  });

  test('an agent with the CA and a client certificate reports; without them it is refused', async () => {
    const state = path.join(h.dir, 'state-tls');
    const good = await runCli(AGENT_CLI, [
      'run',
      '--collector',
      h.collector.grpcAddress,
      '--profile',
      'smoke',
      '--ca',
      certs.caCert,
      '--cert',
      certs.clientCert,
      '--key',
      certs.clientKey,
      '--state-dir',
      state,
    ]);
    expect(good.code).toBe(0);
    const runs = await h.collector.store.listRuns();
    expect(runs).toHaveLength(1);
    // Heartbeats with guest time came over TLS too, from the agent's report thread.
    expect(runs[0]!.clock.guestSpanMs).toBeGreaterThan(0);
    const plain = await runCli(AGENT_CLI, [
      'run',
      '--collector',
      h.collector.grpcAddress,
      '--profile',
      'smoke',
      '--deliver-timeout',
      '0',
      '--state-dir',
      `${state}-plain`,
    ]);
    expect(plain.code).not.toBe(0);
    const noClientCert = await runCli(AGENT_CLI, [
      'run',
      '--collector',
      h.collector.grpcAddress,
      '--profile',
      'smoke',
      '--ca',
      certs.caCert,
      '--deliver-timeout',
      '0',
      '--state-dir',
      `${state}-nocert`,
    ]);
    expect(noClientCert.code).not.toBe(0);
    expect(await h.collector.store.listRuns()).toHaveLength(1);
  }, 180_000);

  test('the HTTP API is served over TLS to a client with a certificate', async () => {
    expect(h.collector.httpUrl).toMatch(/^https:/);
    const status = await new Promise<number>((resolve, reject) => {
      https
        .get(
          `${h.collector.httpUrl}/healthz`,
          { ca: fs.readFileSync(certs.caCert), cert: fs.readFileSync(certs.clientCert), key: fs.readFileSync(certs.clientKey) },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        )
        .on('error', reject);
    });
    expect(status).toBe(200);
  });
});
