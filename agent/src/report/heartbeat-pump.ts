// Heartbeats sent from a worker thread. Benchmark kernels run synchronously on the main
// thread for seconds at a time (longer under emulation); a timer there would stall and the
// collector would wrongly mark the run lost. The worker speaks just enough gRPC over
// node:http2 to send one pre-encoded HeartbeatRequest per interval, so it needs no modules
// and works the same from the single-file bundle. Each beat appends the guest's monotonic
// time (field 5, a double) to the pre-encoded body: protobuf reads appended fields as set.
import { HeartbeatRequest } from '@guestbench/proto';
import { isIP } from 'node:net';
import { Worker } from 'node:worker_threads';
import type { ClientTls } from './collector-client';

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const http2 = require('node:http2');
let body = Buffer.from(workerData.body);
let session;
function frame(payload) {
  const head = Buffer.alloc(5);
  head.writeUInt8(0, 0);
  head.writeUInt32BE(payload.length, 1);
  return Buffer.concat([head, payload]);
}
function connect() {
  if (session && !session.closed && !session.destroyed) return session;
  const tls = workerData.tls;
  session = tls
    ? http2.connect('https://' + workerData.address, {
        ca: tls.ca, cert: tls.cert, key: tls.key,
        servername: workerData.servername,
      })
    : http2.connect('http://' + workerData.address);
  session.on('error', () => { session = undefined; });
  session.unref();
  return session;
}
// Field 5 (guest_monotonic_ms), wire type 1 (64-bit): tag byte (5 << 3) | 1.
const clockStart = Number(process.hrtime.bigint()) / 1e6;
function guestTime() {
  const now = Number(process.hrtime.bigint()) / 1e6;
  const field = Buffer.alloc(9);
  field.writeUInt8(0x29, 0);
  field.writeDoubleLE(clockStart + (now - clockStart) * workerData.clockRate, 1);
  return field;
}
function beat() {
  try {
    const req = connect().request({
      ':method': 'POST', ':path': '/guestbench.v1.AgentService/Heartbeat',
      'content-type': 'application/grpc', te: 'trailers',
      ...(workerData.token ? { authorization: 'Bearer ' + workerData.token } : {}),
    });
    req.setTimeout(workerData.intervalMs, () => req.close());
    req.on('trailers', (t) => parentPort.postMessage({ status: Number(t['grpc-status'] ?? -1) }));
    req.on('error', () => parentPort.postMessage({ status: -1 }));
    req.on('data', () => {});
    req.end(frame(Buffer.concat([body, guestTime()])));
  } catch {
    parentPort.postMessage({ status: -1 });
  }
}
parentPort.on('message', (m) => {
  if (m.body) body = Buffer.from(m.body);
  if (m.stop) { clearInterval(timer); if (session) session.close(); parentPort.close(); }
});
const timer = setInterval(beat, workerData.intervalMs);
beat();
`;

/** SNI carries host names only: for an IP address it is left out ('') and the certificate's IP SAN is checked. */
function sniName(address: string): string | undefined {
  const host = address.replace(/^\[?([^\]]*?)\]?:\d+$/, '$1');
  return isIP(host) !== 0 ? '' : undefined;
}

/** A heartbeat without its guest time, which the worker adds as it sends. */
export type BeatContent = Omit<HeartbeatRequest, 'guestMonotonicMs'>;

function encodeBeat(request: BeatContent): Uint8Array {
  return HeartbeatRequest.encode({ ...request, guestMonotonicMs: 0 }).finish();
}

/**
 * TEST ONLY: GUESTBENCH_TEST_CLOCK_RATE=1.02 makes the guest time the heartbeats report run
 * 2 % fast, so a test can check the collector's clock-drift flag with a real agent. It changes
 * nothing the benchmarks measure. Unset (or anything but a number from 0.5 to 2): 1.
 */
export function testClockRate(env: NodeJS.ProcessEnv): number {
  const v = Number(env['GUESTBENCH_TEST_CLOCK_RATE']);
  return env['GUESTBENCH_TEST_CLOCK_RATE'] !== undefined && v >= 0.5 && v <= 2 ? v : 1;
}

export class HeartbeatPump {
  private readonly worker: Worker;
  /** gRPC status of the last heartbeat answer (0 = OK), -1 for a transport failure. */
  lastStatus: number | undefined;
  /** Why the worker died, if it did. */
  lastError: Error | undefined;

  constructor(address: string, intervalMs: number, request: BeatContent, auth: { token?: string; tls?: ClientTls } = {}) {
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: {
        address, intervalMs, body: encodeBeat(request), token: auth.token, tls: auth.tls, servername: sniName(address),
        clockRate: testClockRate(process.env),
      },
    });
    this.worker.on('message', (m: { status: number }) => {
      this.lastStatus = m.status;
    });
    this.worker.on('error', (err) => {
      this.lastError = err;
    });
    this.worker.unref();
  }

  /** Sends this request from the next beat on (e.g. a new current benchmark). */
  update(request: BeatContent): void {
    this.worker.postMessage({ body: encodeBeat(request) });
  }

  async stop(): Promise<void> {
    this.worker.postMessage({ stop: true });
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => void this.worker.terminate().then(() => resolve()), 1000);
      this.worker.once('exit', () => {
        clearTimeout(t);
        resolve();
      });
    });
  }
}
