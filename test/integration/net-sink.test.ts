// The sink/echo endpoint as agents meet it: the collector's, announced at enrollment, and
// `guestbench-agent serve-net`: one shared server (proto/src/sink/) behind both, checked as agents meet it.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import { credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import { AgentServiceClient, type EnrollRequest, type EnrollResponse } from '@guestbench/proto';
import { AGENT_CLI, startHarness, type Harness } from '../helpers/collector-harness';
import { freePort } from '../helpers/collector-process';

/** Sends `data`, half-closes if asked, and returns everything the server sent until it closed. */
function exchange(port: number, data: Buffer, halfClose: boolean): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true });
    const chunks: Buffer[] = [];
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('end', () => socket.end());
    socket.on('error', reject);
    socket.on('close', () => resolve(Buffer.concat(chunks)));
    socket.write(data);
    if (halfClose) socket.end();
  });
}

/** The protocol of docs/disk-and-network.md, byte for byte. */
async function expectSpeaksProtocol(port: number): Promise<void> {
  const payload = Buffer.alloc(1_000_000, 0x5a);
  const count = await exchange(port, Buffer.concat([Buffer.from('S'), payload]), true);
  expect(count).toHaveLength(8);
  expect(count.readBigUInt64BE(0)).toBe(1_000_000n);
  expect((await exchange(port, Buffer.from('Eping'), true)).toString()).toBe('ping');
  expect((await exchange(port, Buffer.from('Cq'), false)).toString()).toBe('q');
  expect(await exchange(port, Buffer.from('X'), false)).toHaveLength(0);
}

describe("the collector's sink", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  test('is announced to an agent at enrollment', async () => {
    const client = new AgentServiceClient(h.collector.grpcAddress, credentials.createInsecure());
    const req: EnrollRequest = {
      agentId: 'net-sink-test',
      hostname: 'net-sink-test',
      declaredPlatform: 'native',
      detected: { platform: 'native', evidence: [] },
      inventory: undefined,
      agentVersion: '0.1.0',
    };
    const res = await new Promise<EnrollResponse>((resolve, reject) =>
      client.enroll(req, new Metadata(), (err: ServiceError | null, r: EnrollResponse) => (err ? reject(err) : resolve(r))),
    );
    client.close();
    expect(h.collector.netSink).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(res.netSink).toBe(h.collector.netSink);
  });

  test('speaks the sink/echo protocol', async () => {
    await expectSpeaksProtocol(Number(h.collector.netSink!.split(':')[1]));
  });
});

describe('guestbench-agent serve-net', () => {
  let child: ChildProcessWithoutNullStreams;
  let port: number;
  beforeAll(async () => {
    if (!fs.existsSync(AGENT_CLI)) throw new Error(`${AGENT_CLI} is missing: run \`npm run build\` first (npm test does)`);
    child = spawn(process.execPath, [AGENT_CLI, 'serve-net', '--listen', '127.0.0.1:0', '--json']);
    const line = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString('utf8');
        if (out.includes('\n')) resolve(out.split('\n')[0] as string);
      });
      child.once('exit', (code) => reject(new Error(`serve-net exited with ${code}`)));
    });
    const listening = (JSON.parse(line) as { listening: string }).listening;
    expect(listening).toMatch(/^127\.0\.0\.1:\d+$/);
    port = Number(listening.split(':')[1]);
  });

  test('speaks the same protocol', async () => {
    await expectSpeaksProtocol(port);
  });

  test('stops cleanly on SIGINT', async () => {
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGINT');
    expect(await exited).toBe(0);
  });

  test('refuses a listen address that is not HOST:PORT', async () => {
    const bad = spawn(process.execPath, [AGENT_CLI, 'serve-net', '--listen', 'everywhere']);
    let stderr = '';
    bad.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    const code = await new Promise<number | null>((resolve) => bad.once('exit', (c) => resolve(c)));
    expect(code).toBe(2);
    expect(stderr).toContain('--listen: expected HOST:PORT');
  });
});

describe("the collector's default sink port", () => {
  test('moves to a free port when the gRPC port + 1 is taken, and says so', async () => {
    const grpcPort = await freePort();
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(grpcPort + 1, '127.0.0.1', resolve));
    try {
      const h = await startHarness({ grpcAddress: `127.0.0.1:${grpcPort}` });
      try {
        expect(h.collector.netSink).toMatch(/^127\.0\.0\.1:\d+$/);
        expect(h.collector.netSink).not.toBe(`127.0.0.1:${grpcPort + 1}`);
        expect(h.logs.find((e) => e.event === 'net-sink-port-busy')).toMatchObject({ wanted: grpcPort + 1 });
        await expectSpeaksProtocol(Number(h.collector.netSink!.split(':')[1]));
      } finally {
        await h.close();
      }
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });
});
