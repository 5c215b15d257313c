// Fuzzing a running collector for a bounded time: random and mutated protobuf payloads on
// every gRPC method, and random HTTP requests. It must stay up, answer each request with a
// proper status, and a rejected request must leave the store exactly as it was.
import Database from 'better-sqlite3';
import http2 from 'node:http2';
import path from 'node:path';
import {
  Direction,
  EndRunRequest,
  EnrollRequest,
  HeartbeatRequest,
  SendLogsRequest,
  StartRunRequest,
  SubmitSamplesRequest,
  WaitForJobRequest,
  CreateJobRequest,
  CompareRequest,
  GetRunRequest,
  ListRunsRequest,
  type RunStatus,
} from '@guestbench/proto';
import { startHarness, type Harness } from '../helpers/collector-harness';

const SECONDS = Number(process.env['GUESTBENCH_FUZZ_SECONDS'] ?? '8');

/** A small seeded PRNG (mulberry32), so a failure can be replayed with GUESTBENCH_FUZZ_SEED. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const seed = Number(process.env['GUESTBENCH_FUZZ_SEED'] ?? Date.now() % 1_000_000);
let rand = prng(seed);
const int = (n: number): number => Math.floor(rand() * n);
const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)] as T;

function mutate(bytes: Uint8Array): Buffer {
  const b = Buffer.from(bytes);
  switch (int(5)) {
    case 0: // flip bytes
      for (let i = 0; i < 1 + int(4); i++) if (b.length > 0) b[int(b.length)] = int(256);
      return b;
    case 1: // truncate
      return b.subarray(0, int(b.length + 1));
    case 2: // insert random bytes
      return Buffer.concat([b.subarray(0, int(b.length + 1)), Buffer.from(Array.from({ length: 1 + int(16) }, () => int(256))), b.subarray(int(b.length + 1))]);
    case 3: // pure noise
      return Buffer.from(Array.from({ length: int(200) }, () => int(256)));
    default: // duplicate a slice (repeated fields, overlong)
      return Buffer.concat([b, b.subarray(int(b.length + 1))]);
  }
}

let h: Harness;
let db: Database.Database;
let session: http2.ClientHttp2Session;
const RUN = 'fuzz-run';
const AGENT = 'fuzz-agent';

function fingerprint(): string {
  const tables = ['agents', 'runs', 'samples', 'run_logs', 'jobs', 'job_assignments', 'tokens'];
  return tables
    .map((t) => {
      const row = db.prepare(`SELECT COUNT(*) AS n, COALESCE(SUM(LENGTH(CAST(rowid AS TEXT))), 0) AS r FROM ${t}`).get() as { n: number; r: number };
      return `${t}:${row.n}:${row.r}`;
    })
    .concat([JSON.stringify(db.prepare('SELECT id, status, error, ended_at_ms, agent_id, label, platform FROM runs ORDER BY id').all())])
    .concat([JSON.stringify(db.prepare('SELECT id, hostname, platform, inventory_json FROM agents ORDER BY id').all())])
    .join('|');
}

function grpcCall(method: string, payload: Buffer, badFrame = false): Promise<{ status: number | undefined; message: string }> {
  return new Promise((resolve, reject) => {
    // A deadline, as real clients send: WaitForJob may legitimately wait up to 60 s.
    const req = session.request({ ':method': 'POST', ':path': method, 'content-type': 'application/grpc', te: 'trailers', 'grpc-timeout': '3S' });
    let status: number | undefined;
    let message = '';
    const take = (headers: http2.IncomingHttpHeaders): void => {
      if (headers['grpc-status'] !== undefined) status = Number(headers['grpc-status']);
      if (typeof headers['grpc-message'] === 'string') message = decodeURIComponent(headers['grpc-message']);
    };
    req.on('response', take);
    req.on('trailers', take);
    req.on('data', () => undefined);
    req.on('end', () => resolve({ status, message }));
    req.on('error', reject);
    req.setTimeout(10_000, () => reject(new Error(`no answer to ${method}`)));
    const head = Buffer.alloc(5);
    head.writeUInt8(badFrame ? 1 : 0, 0); // compressed flag without a compression: must be refused
    head.writeUInt32BE(badFrame && rand() < 0.5 ? payload.length + 7 : payload.length, 1);
    req.end(Buffer.concat([head, payload]));
  });
}

const sampleBase = {
  id: `${RUN}:cpu.int32:throughput`,
  benchmarkId: 'cpu.int32',
  metric: 'throughput',
  unit: 'Mops/s',
  direction: Direction.DIRECTION_HIGHER_IS_BETTER,
  value: 5,
  trials: [5, 5, 5],
  trialCount: 3,
  rsd: 0,
  stealFraction: 0,
  parameters: { size: '1' },
  primary: true,
  clocksource: 'tsc',
  durationSeconds: 1,
  finishedAtMs: 1,
  flags: [],
};

const CORPUS: readonly { path: string; bytes: () => Uint8Array }[] = [
  {
    path: '/guestbench.v1.AgentService/Enroll',
    bytes: () =>
      EnrollRequest.encode({
        agentId: AGENT,
        hostname: 'h',
        declaredPlatform: 'kvm',
        agentVersion: '0.1.0',
        detected: { platform: 'kvm', evidence: [{ source: 's', value: 'v', suggests: 'kvm' }] },
        inventory: undefined,
      }).finish(),
  },
  {
    path: '/guestbench.v1.AgentService/StartRun',
    bytes: () =>
      StartRunRequest.encode({
        runId: `${RUN}-${int(3)}`,
        agentId: AGENT,
        profile: 'smoke',
        label: 'x',
        agentVersion: '0.1.0',
        startedAtMs: 1,
        jobId: '',
      }).finish(),
  },
  {
    path: '/guestbench.v1.AgentService/SubmitSamples',
    bytes: () =>
      SubmitSamplesRequest.encode({
        runId: RUN,
        samples: [{ ...sampleBase, id: `${RUN}:m${int(1000)}`, value: pick([5, Number.NaN, Infinity, -1, 1e308]) }],
      }).finish(),
  },
  {
    path: '/guestbench.v1.AgentService/EndRun',
    bytes: () =>
      EndRunRequest.encode({
        runId: RUN,
        status: pick([0, 2, 3, 4, 99]) as RunStatus,
        error: 'e',
        sampleCount: 1,
        endedAtMs: 2,
        failedBenchmarks: [],
      }).finish(),
  },
  {
    path: '/guestbench.v1.AgentService/Heartbeat',
    bytes: () =>
      HeartbeatRequest.encode({
        agentId: AGENT,
        runId: RUN,
        currentBenchmark: 'x',
        takesJobs: false,
        guestMonotonicMs: pick([0, 5, -1, Number.NaN, Infinity, 1e308]),
      }).finish(),
  },
  {
    path: '/guestbench.v1.AgentService/SendLogs',
    bytes: () =>
      SendLogsRequest.encode({
        agentId: AGENT,
        runId: RUN,
        lines: [{ timeMs: 1, level: pick(['info', 'loud']), message: 'm', fieldsJson: pick(['{}', '[', '{"a":1}']) }],
      }).finish(),
  },
  { path: '/guestbench.v1.AgentService/WaitForJob', bytes: () => WaitForJobRequest.encode({ agentId: AGENT, waitMs: pick([0, 1, 999_999]) }).finish() },
  {
    path: '/guestbench.v1.JobService/CreateJob',
    bytes: () => CreateJobRequest.encode({ platform: pick(['kvm', 'bochs', '']), profile: pick(['smoke', 'huge']), label: '' }).finish(),
  },
  {
    path: '/guestbench.v1.QueryService/Compare',
    bytes: () => CompareRequest.encode({ baseline: pick(['native', '', '../x', 'a'.repeat(300)]), groups: ['kvm'] }).finish(),
  },
  { path: '/guestbench.v1.QueryService/GetRun', bytes: () => GetRunRequest.encode({ runId: pick([RUN, '', 'nope']) }).finish() },
  {
    path: '/guestbench.v1.QueryService/ListRuns',
    bytes: () => ListRunsRequest.encode({ platform: '', label: '', hostname: '', limit: pick([0, 5, 99_999]) }).finish(),
  },
];

beforeAll(async () => {
  h = await startHarness();
  db = new Database(path.join(h.dir, 'guestbench.db'), { readonly: true });
  session = http2.connect(`http://${h.collector.grpcAddress}`);
  // A valid agent and run, so mutated messages can reach deep into the handlers.
  expect((await grpcCall(CORPUS[0]!.path, Buffer.from(CORPUS[0]!.bytes()))).status).toBe(0);
  expect(
    (
      await grpcCall(
        '/guestbench.v1.AgentService/StartRun',
        Buffer.from(
          StartRunRequest.encode({ runId: RUN, agentId: AGENT, profile: 'smoke', label: '', agentVersion: '0.1.0', startedAtMs: 1, jobId: '' }).finish(),
        ),
      )
    ).status,
  ).toBe(0);
});

afterAll(async () => {
  session?.close();
  db?.close();
  await h?.close();
});

test(`gRPC: random and mutated payloads for ${SECONDS} s (seed ${seed})`, async () => {
  const deadline = Date.now() + SECONDS * 1000;
  const seen = new Map<number, number>();
  let n = 0;
  while (Date.now() < deadline && n < 20_000) {
    const entry = pick(CORPUS);
    const base = entry.bytes();
    const payload = rand() < 0.15 ? Buffer.from(base) : mutate(base);
    const before = fingerprint();
    const { status, message } = await grpcCall(
      rand() < 0.03 ? `/guestbench.v1.AgentService/${pick(['Nope', 'enroll', ''])}` : entry.path,
      payload,
      rand() < 0.03,
    );
    n++;
    expect(typeof status).toBe('number'); // every call ends with a proper gRPC status
    seen.set(status!, (seen.get(status!) ?? 0) + 1);
    if (status === 13) throw new Error(`INTERNAL from ${entry.path}: ${message}; seed ${seed}, request ${n}`); // an unhandled case
    if (status !== 0) {
      if (fingerprint() !== before) throw new Error(`a rejected ${entry.path} (status ${status}: ${message}) changed the store; seed ${seed}, request ${n}`);
    }
  }
  expect(n).toBeGreaterThan(50);
  // refusals and acceptances both happened: the fuzzer reached past the parser
  expect(seen.get(3) ?? 0).toBeGreaterThan(0);
  expect(seen.get(0) ?? 0).toBeGreaterThan(0);
  const health = await fetch(`${h.collector.httpUrl}/healthz`);
  expect(health.status).toBe(200);
}, 120_000);

test(`HTTP: random paths, queries and methods for ${SECONDS / 2} s (seed ${seed})`, async () => {
  rand = prng(seed + 1); // its own sequence, so a failure replays whatever the gRPC test did
  const deadline = Date.now() + (SECONDS / 2) * 1000;
  const paths = [
    '/api/v1/runs',
    `/api/v1/runs/${RUN}`,
    `/api/v1/runs/${RUN}/logs`,
    '/api/v1/compare',
    '/api/v1/jobs',
    '/api/v1/report',
    '/',
    '/metrics',
    '/healthz',
    '/api/v1/runs/%ZZ',
    '/x',
  ];
  const keys = ['baseline', 'groups', 'limit', 'status', 'platform', 'label', 'hostname', 'host', 'since', 'until', 'format', '', 'a[]'];
  const values = [
    'native',
    'kvm/virtio',
    '',
    '0',
    '-1',
    '1e9',
    'NaN',
    '%00',
    '%E0%A4%A',
    '<script>',
    'a'.repeat(5000),
    '2026-13-45',
    'completed,lost',
    '../../etc/passwd',
  ];
  let n = 0;
  while (Date.now() < deadline && n < 5000) {
    const q = Array.from({ length: int(4) }, () => `${encodeURIComponent(pick(keys))}=${rand() < 0.5 ? encodeURIComponent(pick(values)) : pick(values)}`).join(
      '&',
    );
    const url = `${h.collector.httpUrl}${pick(paths)}${q === '' ? '' : `?${q}`}`;
    const method = pick(['GET', 'GET', 'GET', 'HEAD', 'POST', 'DELETE', 'PUT']);
    const before = fingerprint();
    const res = await fetch(url, { method, body: method === 'POST' ? pick(['{', '{"profile":"smoke"}', '[]', 'x'.repeat(70_000)]) : undefined });
    await res.arrayBuffer();
    n++;
    if (![200, 201, 400, 401, 404, 405, 409, 413].includes(res.status)) throw new Error(`${method} ${url.slice(0, 300)} answered ${res.status}; seed ${seed}`);
    if (res.status >= 400 && fingerprint() !== before) throw new Error(`a refused ${method} ${url.slice(0, 200)} changed the store; seed ${seed}`);
  }
  expect(n).toBeGreaterThan(20);
}, 120_000);
