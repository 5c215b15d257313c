// The sink/echo protocol that the network benchmarks speak. It is deliberately tiny, so the
// collector, `guestbench-agent serve-net` and any other program can serve it.
//
// A client opens a TCP connection and sends one mode byte, then:
//   'S' sink    The server reads and discards everything until the client shuts down its
//               sending side, then writes the number of bytes it received after the mode
//               byte as an 8-byte big-endian unsigned integer, and closes.
//   'E' echo    The server writes back every byte it receives, as soon as it receives it,
//               until the client closes.
//   'C' one     The server reads one byte, writes it back and closes, first: so TIME_WAIT
//               lands on the server and a client can open connections at full rate.
// Any other mode byte: the server closes the connection at once.
// The server sets TCP_NODELAY; clients set it for request/response, not for bulk transfer.

export const MODE_SINK = 0x53; // 'S'
export const MODE_ECHO = 0x45; // 'E'
export const MODE_ONE_SHOT = 0x43; // 'C'

/** Length of the sink's reply: the byte count as an unsigned 64-bit big-endian integer. */
export const SINK_REPLY_BYTES = 8;

export function encodeSinkReply(count: number): Buffer {
  const reply = Buffer.alloc(SINK_REPLY_BYTES);
  reply.writeBigUInt64BE(BigInt(count));
  return reply;
}

export function decodeSinkReply(reply: Buffer): number {
  return Number(reply.readBigUInt64BE(0));
}
