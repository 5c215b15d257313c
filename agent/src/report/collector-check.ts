// Before a run: is the collector there, and does it take us? One quick enrollment (at most
// 5 s) whose failure is told in one line, by cause, instead of a run that cannot be delivered.
import { status as GrpcStatus } from '@grpc/grpc-js';
import { isCollectorError } from './collector-client';
import { Backoff, CHECK_RETRY, sleep } from './retry-policy';

/** How long the check waits for an answer, in all. */
export const CHECK_DEADLINE_MS = 5000;

/** Failures that waiting cannot cure: told at once rather than retried. */
const DEFINITIVE = /ECONNREFUSED|ENOTFOUND|wrong version number|certificate|self.signed|Protocol error|HTTP status code/i;

/**
 * Calls `attempt` (an enrollment) within CHECK_DEADLINE_MS in all: one slow answer gets the
 * whole time (a guest under emulation is slow), a dropped connection is tried again, and a
 * definitive failure (refused, TLS, not gRPC, the token) is thrown at once.
 */
export async function reachCollector<T>(attempt: (opts: { attempts: number; deadlineMs: number }) => Promise<T>, now: () => number = Date.now): Promise<T> {
  const until = now() + CHECK_DEADLINE_MS;
  const backoff = new Backoff(CHECK_RETRY, now);
  for (;;) {
    try {
      return await attempt({ attempts: 1, deadlineMs: Math.max(100, until - now()) });
    } catch (err: unknown) {
      const transient = isCollectorError(err) && err.code === GrpcStatus.UNAVAILABLE && !DEFINITIVE.test(err.message);
      const delay = backoff.next();
      if (!transient || delay === undefined || now() + delay + 100 >= until) throw err;
      await sleep(delay);
    }
  }
}

/**
 * The cause of a failed call to `address`, in one line for people: refused, no answer, not a
 * gRPC server, TLS on one side only or an untrusted certificate, the token refused.
 */
export function describeCollectorFailure(err: unknown, address: string, tls: boolean): string {
  const message = err instanceof Error ? err.message : String(err);
  const code = isCollectorError(err) ? err.code : undefined;
  const detail = message
    .replace(/^\w+ to \S+ failed: /, '')
    .replace(/\. Resolution note: .*$/s, '')
    .trim();
  if (code === GrpcStatus.UNAUTHENTICATED || code === GrpcStatus.PERMISSION_DENIED) {
    return `the collector at ${address} refused the token: ${detail} (make one with \`guestbench-collector token create --name NAME\`, pass it with --token)`;
  }
  // The collector answered and refused what was sent: no retry or other address can help.
  if (code === GrpcStatus.INVALID_ARGUMENT) return `the collector at ${address} refused this agent's request: ${detail}`;
  if (/ECONNREFUSED/.test(message))
    return `connection refused: nothing listens on ${address} (is \`guestbench-collector serve\` running, with --grpc on this address?)`;
  if (/ENOTFOUND|EAI_AGAIN|Name resolution failed|DNS resolution failed/i.test(message)) return `cannot resolve the host of ${address}`;
  if (/EHOSTUNREACH|ENETUNREACH/.test(message)) return `no route to ${address}`;
  if (/wrong version number|packet length too long|unknown protocol/i.test(message)) {
    return `TLS mismatch: ${address} does not speak TLS (drop --ca, or serve the collector with --tls-cert and --tls-key)`;
  }
  if (/certificate|self.signed|SSL|TLS|altnames|Hostname\/IP/i.test(message)) return `TLS: the certificate of ${address} is not accepted: ${detail}`;
  if (!tls && /Failed to connect|Connection dropped|ECONNRESET/i.test(message)) {
    return `${address} accepted the connection but not plaintext gRPC: a TLS collector? (then pass --ca FILE): ${detail}`;
  }
  if (/Protocol error|HTTP status code|Received RST_STREAM|unexpected content-type|malformed/i.test(message) || code === GrpcStatus.UNIMPLEMENTED) {
    return `${address} answers, but not as a guestbench collector's gRPC port (an HTTP port? the collector's --grpc address, default port 50051): ${detail}`;
  }
  if (code === GrpcStatus.DEADLINE_EXCEEDED)
    return `no answer from ${address} within ${CHECK_DEADLINE_MS / 1000} s (a firewall dropping packets, or the wrong host)`;
  return `the collector at ${address} could not be reached: ${detail}`;
}
