// `run` checks the collector before the suite: when it cannot deliver, it says why in one
// line and runs nothing, at once; --offline runs anyway and leaves the samples in the spool.
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { AGENT_CLI, runCli, startHarness, type Harness } from '../helpers/collector-harness';
import { makeTestCerts, type TestCerts } from '../helpers/test-certs';

let dir: string;
let certs: TestCerts;
const closeLater: (() => Promise<void>)[] = [];

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gb-check-'));
  certs = makeTestCerts(path.join(dir, 'certs'));
});

afterAll(async () => {
  for (const close of closeLater) await close();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function harness(options: Parameters<typeof startHarness>[0]): Promise<Harness> {
  const h = await startHarness(options);
  closeLater.push(() => h.close());
  return h;
}

/** `run` of one quick benchmark; the spool folder tells whether anything ran. */
async function run(collector: string, extra: readonly string[] = []): Promise<{ code: number | null; stdout: string; stderr: string; spooled: number }> {
  const state = fs.mkdtempSync(path.join(dir, 'state-'));
  const r = await runCli(AGENT_CLI, [
    'run',
    '--collector',
    collector,
    '--only',
    'sys.clock',
    '--agent-id',
    'check-agent',
    '--state-dir',
    state,
    '--deliver-timeout',
    '0',
    ...extra,
  ]);
  const spoolDir = path.join(state, 'spool');
  return { ...r, spooled: fs.existsSync(spoolDir) ? fs.readdirSync(spoolDir).length : 0 };
}

/** The agent's own line (grpc-js may add a deprecation warning about TLS to an IP address). */
function causeLine(stderr: string): string {
  const lines = stderr.split('\n').filter((l) => l.startsWith('guestbench-agent: '));
  expect(lines).toHaveLength(1);
  return lines[0] as string;
}

test('nothing listening: "connection refused", nothing ran', async () => {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  const r = await run(`127.0.0.1:${port}`);
  expect(r.code).toBe(1);
  expect(causeLine(r.stderr)).toBe(
    `guestbench-agent: run: connection refused: nothing listens on 127.0.0.1:${port} (is \`guestbench-collector serve\` running, with --grpc on this address?); nothing ran (--offline runs now and delivers later)`,
  );
  expect(r.stdout).toBe('');
  expect(r.spooled).toBe(0);
});

test('an HTTP server, not gRPC: says so', async () => {
  const server = http.createServer((_req, res) => res.end('hello'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closeLater.push(() => new Promise((resolve) => server.close(() => resolve())));
  const r = await run(`127.0.0.1:${(server.address() as net.AddressInfo).port}`);
  expect(r.code).toBe(1);
  expect(causeLine(r.stderr)).toMatch(/^guestbench-agent: run: 127\.0\.0\.1:\d+ answers, but not as a guestbench collector's gRPC port/);
});

test('TLS on one side only, or a certificate the CA did not sign: "TLS"', async () => {
  const plain = await harness({});
  const toPlain = await run(plain.collector.grpcAddress, ['--ca', certs.caCert]);
  expect(toPlain.code).toBe(1);
  expect(causeLine(toPlain.stderr)).toMatch(/^guestbench-agent: run: TLS mismatch: 127\.0\.0\.1:\d+ does not speak TLS/);

  const tls = await harness({ tls: { cert: fs.readFileSync(certs.serverCert), key: fs.readFileSync(certs.serverKey) } });
  const plainToTls = await run(tls.collector.grpcAddress);
  expect(plainToTls.code).toBe(1);
  expect(causeLine(plainToTls.stderr)).toMatch(
    /^guestbench-agent: run: 127\.0\.0\.1:\d+ accepted the connection but not plaintext gRPC: a TLS collector\? \(then pass --ca FILE\)/,
  );

  const wrongCa = await run(tls.collector.grpcAddress, ['--ca', certs.serverCert]);
  expect(wrongCa.code).toBe(1);
  expect(causeLine(wrongCa.stderr)).toMatch(/^guestbench-agent: run: TLS: the certificate of 127\.0\.0\.1:\d+ is not accepted/);
}, 60_000);

test("a token the collector refuses: says so, with the collector's words", async () => {
  const h = await harness({ auth: 'tokens' });
  const r = await run(h.collector.grpcAddress, ['--token', 'gbt_000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA']);
  expect(r.code).toBe(1);
  expect(causeLine(r.stderr)).toMatch(/^guestbench-agent: run: the collector at 127\.0\.0\.1:\d+ refused the token: /);
  expect(r.spooled).toBe(0);
});

test('--offline runs without the collector and keeps the samples in the spool', async () => {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  const r = await run(`127.0.0.1:${port}`, ['--offline']);
  expect(r.code).toBe(1); // not delivered
  expect(r.stdout).toMatch(/sys\.clock/);
  expect(r.spooled).toBeGreaterThan(0);
});
