// The sink/echo protocol, spoken byte by byte by a plain socket against the server, and the
// client helpers the benchmarks use, including how they fail.
import net from 'node:net';
import { parseHostPort, type HostPort } from './address';
import { decodeSinkReply } from './protocol';
import { checkSink, EchoConnection, isNetSinkError, oneShot, streamToSink } from './sink-client';
import { startSinkServer, type SinkServer } from './sink-server';

let server: SinkServer;
beforeAll(async () => {
  server = await startSinkServer({ host: '127.0.0.1', port: 0 });
});
afterAll(async () => {
  await server.close();
});

/** Sends `parts` one write at a time, half-closes if asked, and collects all the server sends until it closes. */
function exchange(parts: readonly Buffer[], halfClose: boolean): Promise<{ received: Buffer; serverClosed: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port: server.address.port, allowHalfOpen: true });
    const chunks: Buffer[] = [];
    let serverClosed = false;
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('end', () => {
      serverClosed = true;
      socket.end();
    });
    socket.on('error', reject);
    socket.on('close', () => resolve({ received: Buffer.concat(chunks), serverClosed }));
    socket.on('connect', () => {
      for (const p of parts) socket.write(p);
      if (halfClose) socket.end();
    });
  });
}

describe('the server', () => {
  test("'S' counts every byte after the mode byte and answers the count as 8 bytes big-endian", async () => {
    const body = Buffer.alloc(300_001, 7);
    const { received, serverClosed } = await exchange([Buffer.from('S'), body.subarray(0, 1), body.subarray(1)], true);
    expect(received).toHaveLength(8);
    expect(decodeSinkReply(received)).toBe(300_001);
    expect(received.readBigUInt64BE(0)).toBe(300_001n);
    expect(serverClosed).toBe(true);
  });

  test("'S' with the mode byte and data in one segment, and with no data at all", async () => {
    expect(decodeSinkReply((await exchange([Buffer.from('Sabc')], true)).received)).toBe(3);
    expect(decodeSinkReply((await exchange([Buffer.from('S')], true)).received)).toBe(0);
  });

  test("'E' sends back every byte, in order, and closes when the client does", async () => {
    const { received, serverClosed } = await exchange([Buffer.from('Ehello'), Buffer.from(' '), Buffer.from('world')], true);
    expect(received.toString()).toBe('hello world');
    expect(serverClosed).toBe(true);
  });

  test("'C' answers one byte and closes first, without the client closing", async () => {
    const { received, serverClosed } = await exchange([Buffer.from('C'), Buffer.from('z')], false);
    expect(received.toString()).toBe('z');
    expect(serverClosed).toBe(true);
  });

  test('any other mode byte: the connection is closed with nothing sent', async () => {
    const { received } = await exchange([Buffer.from('GET / HTTP/1.0\r\n\r\n')], false);
    expect(received).toHaveLength(0);
  });

  test('reads every connection into one reused buffer (the cheap path; see sink-server.ts)', async () => {
    await exchange([Buffer.from('Sx')], true);
    expect(server.reusedBuffer).toBe(true);
  });
});

describe('the client', () => {
  test('streams over parallel connections, leaving the omitted interval out, every byte confirmed by the sink', async () => {
    const block = Buffer.alloc(64 * 1024, 1);
    const r = await streamToSink(server.address, { streams: 3, block, omitSeconds: 0.05, seconds: 0.1, signal: new AbortController().signal });
    expect(r.bytes).toBeGreaterThan(0);
    expect(r.bytes % block.length).toBe(0);
    expect(r.seconds).toBeGreaterThanOrEqual(0.1);
  });

  test('round trips on one echo connection, each timed', async () => {
    const echo = await EchoConnection.open(server.address);
    const latencies: number[] = [];
    const r = await echo.roundTrips(0.05, (us) => latencies.push(us), new AbortController().signal);
    echo.close();
    expect(r.ops).toBeGreaterThan(0);
    expect(latencies).toHaveLength(r.ops);
    expect(Math.min(...latencies)).toBeGreaterThan(0);
  });

  test('one connection per transaction', async () => {
    const before = server.connections;
    for (let i = 0; i < 20; i++) await oneShot(server.address);
    expect(server.connections - before).toBe(20);
  });

  test('an address where nothing listens: a clear error naming it', async () => {
    const closed = await startSinkServer({ host: '127.0.0.1', port: 0 });
    await closed.close();
    const err = await checkSink(closed.address).catch((e: unknown) => e);
    expect(isNetSinkError(err)).toBe(true);
    expect((err as Error).message).toBe(`cannot reach the network sink at 127.0.0.1:${closed.address.port}: ECONNREFUSED`);
  });

  test('an endpoint that does not speak the protocol: a clear error, within the timeout', async () => {
    // Reads and ignores: the way a server of some other protocol waits for more.
    const silent = net.createServer((socket) => socket.resume());
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const address: HostPort = { host: '127.0.0.1', port: (silent.address() as net.AddressInfo).port };
    const err = await checkSink(address, 200).catch((e: unknown) => e);
    await new Promise<void>((resolve) => silent.close(() => resolve()));
    expect(isNetSinkError(err)).toBe(true);
    expect((err as Error).message).toMatch(/did not answer within 200 ms: not a guestbench sink\?/);
  });

  test('a sink that answers is accepted', async () => {
    await expect(checkSink(server.address)).resolves.toBeUndefined();
  });
});

test('addresses: HOST:PORT and [IPv6]:PORT; port 0 only for listening', () => {
  expect(parseHostPort('10.0.0.1:5201')).toEqual({ host: '10.0.0.1', port: 5201 });
  expect(parseHostPort('[::1]:5201')).toEqual({ host: '::1', port: 5201 });
  expect(parseHostPort('sink.example:1')).toEqual({ host: 'sink.example', port: 1 });
  expect(parseHostPort('127.0.0.1:0')).toBeUndefined();
  expect(parseHostPort('127.0.0.1:0', true)).toEqual({ host: '127.0.0.1', port: 0 });
  for (const bad of ['127.0.0.1', ':80', 'host:65536', 'host:port', 'a b:1']) expect(parseHostPort(bad)).toBeUndefined();
});
