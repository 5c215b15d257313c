// The sink/echo server, spoken to byte by byte by a plain socket: the one server behind the
// collector's net sink and `guestbench-agent serve-net`.
import net from 'node:net';
import { decodeSinkReply } from './protocol';
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
  const before = server.connections;
  await exchange([Buffer.from('Sx')], true);
  expect(server.connections).toBe(before + 1);
  expect(server.reusedBuffer).toBe(true);
});

test('a port in use is a clear error naming the address', async () => {
  await expect(startSinkServer({ host: '127.0.0.1', port: server.address.port })).rejects.toThrow(
    `cannot listen on 127.0.0.1:${server.address.port}: listen EADDRINUSE`,
  );
});
