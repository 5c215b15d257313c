// The collector's --net-sink flag and the sink it starts beside gRPC.
import net from 'node:net';
import pino from 'pino';
import { parseArguments } from '../cli/parse-arguments';
import { startNetSink } from './net-sink';

test('serve --net-sink takes HOST:PORT or off; without it the collector picks its default', () => {
  expect(parseArguments(['serve', '--net-sink', '0.0.0.0:7208'], {}, '/')).toMatchObject({ kind: 'serve', netSink: '0.0.0.0:7208' });
  expect(parseArguments(['serve', '--net-sink', 'off'], {}, '/')).toMatchObject({ kind: 'serve', netSink: false });
  expect(parseArguments(['serve'], {}, '/')).toMatchObject({ kind: 'serve', netSink: undefined });
  expect(() => parseArguments(['serve', '--net-sink', 'anywhere'], {}, '/')).toThrow(/--net-sink: expected HOST:PORT/);
});

test('the sink counts what it is sent, and a port in use is a clear error', async () => {
  const sink = await startNetSink('127.0.0.1', 0, pino({ level: 'silent' }));
  const port = sink.address.port;
  try {
    const reply = await new Promise<Buffer>((resolve, reject) => {
      const socket = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true });
      const chunks: Buffer[] = [];
      socket.on('data', (d: Buffer) => chunks.push(d));
      socket.on('end', () => resolve(Buffer.concat(chunks)));
      socket.on('error', reject);
      socket.end(Buffer.concat([Buffer.from('S'), Buffer.alloc(70_000, 1)]));
    });
    expect(reply.readBigUInt64BE(0)).toBe(70_000n);
    await expect(startNetSink('127.0.0.1', port, pino({ level: 'silent' }))).rejects.toThrow(`net sink: cannot listen on 127.0.0.1:${port}: listen EADDRINUSE`);
  } finally {
    await sink.close();
  }
});
