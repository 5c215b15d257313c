// The client helpers the network benchmarks use, against the shared sink server (its own
// byte-level tests are in proto/src/sink/), including how they fail.
import net from 'node:net';
import { startSinkServer, type HostPort, type SinkServer } from '@guestbench/proto';
import { checkSink, EchoConnection, isNetSinkError, oneShot, streamToSink } from './sink-client';

let server: SinkServer;
beforeAll(async () => {
  server = await startSinkServer({ host: '127.0.0.1', port: 0 });
});
afterAll(async () => {
  await server.close();
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
