// One thread's load: N connections, each a closed loop (send, wait for the answer, send
// again) or, in constant-rate mode, a schedule of due times like wrk2's, with latency
// measured from when a request was due so that a stalled server cannot hide its stall
// (coordinated omission).
import { performance } from 'node:perf_hooks';
import { AGENT_VERSION } from '../version';
import { handleConnection, handlesAvailable } from './handle-connection';
import { netConnection } from './net-connection';
import type { LoadOptions } from './options';
import { Tally, type TallyState } from './tally';
import type { Connection, ConnectionFactory, RequestTarget } from './transport';
import { undiciConnection } from './undici-connection';

export interface ThreadResult {
  readonly state: TallyState;
  /** From the first request to the last answer, or to the end of the duration if that is later. */
  readonly elapsedSeconds: number;
}

interface Slot {
  conn: Connection;
  /** Constant rate: when this connection's next request is due. */
  nextDue: number;
  /** Constant rate: when the request in flight was actually sent. */
  sentAt: number;
  timer: NodeJS.Timeout | undefined;
}

export const USER_AGENT = `guestbench/${AGENT_VERSION}`;

/**
 * The transport the engine really uses for `options`: handle falls back to node:net where
 * Node's internal TCP bindings cannot be loaded. Each costs the client differently per
 * request, so it is recorded with every sample (a result made another way is not compared).
 */
export function effectiveTransport(options: Pick<LoadOptions, 'transport'>): 'handle' | 'net' | 'undici' {
  if (options.transport === 'undici') return 'undici';
  if (options.transport === 'handle' && handlesAvailable()) return 'handle';
  return 'net';
}

function factoryFor(options: LoadOptions): ConnectionFactory {
  const transport = effectiveTransport(options);
  return transport === 'undici' ? undiciConnection : transport === 'handle' ? handleConnection : netConnection;
}

export function requestTarget(options: LoadOptions): RequestTarget {
  return {
    url: options.url,
    method: options.method,
    keepAlive: options.keepAlive,
    pipelining: options.pipelining,
    headers: options.headers,
    userAgent: USER_AGENT,
  };
}

/**
 * Runs the load in this thread. Resolves when the requests are used up or, once the
 * duration is over, when the requests then in flight have been answered (so a slow page
 * still gives answers, and none is thrown away half done); at once when `signal` aborts.
 * Never later than the per-request timeout after that, whatever the server does.
 */
export function runLoadThread(options: LoadOptions, signal?: AbortSignal): Promise<ThreadResult> {
  return new Promise((resolve) => {
    const rate = options.rate;
    const tally = new Tally(rate !== undefined);
    const budget = options.requests ?? Infinity;
    const timeoutMs = options.timeoutSeconds * 1000;
    const factory = factoryFor(options);
    const target = requestTarget(options);
    const start = performance.now();
    const deadline = options.durationSeconds === undefined ? Infinity : start + options.durationSeconds * 1000;
    const interval = rate === undefined ? 0 : (options.concurrency / rate) * 1000;
    let issued = 0;
    let lastEnd = start;
    let stopping = false;
    /** The duration is over: no new requests, finish when the last one in flight settles. */
    let draining = false;
    const slots: Slot[] = [];

    const finish = (): void => {
      if (stopping) return;
      stopping = true;
      clearTimeout(deadlineTimer);
      clearInterval(expiry);
      signal?.removeEventListener('abort', finish);
      for (const s of slots) {
        clearTimeout(s.timer);
        s.conn.destroy();
      }
      const end = Number.isFinite(deadline) ? Math.max(lastEnd, Math.min(performance.now(), deadline)) : lastEnd;
      resolve({ state: tally.state(), elapsedSeconds: Math.max(end - start, 1e-6) / 1000 });
    };

    const checkDone = (): void => {
      if (tally.finished >= budget || (draining && slots.every((s) => s.conn.inflight === 0))) finish();
    };

    const drain = (): void => {
      draining = true;
      for (const s of slots) clearTimeout(s.timer);
      checkDone();
    };

    const fill = (slot: Slot): void => {
      if (stopping || draining) return;
      if (rate === undefined) {
        while (slot.conn.inflight < options.pipelining && issued < budget) {
          const now = performance.now();
          if (now >= deadline) return drain();
          issued++;
          slot.conn.send(now);
        }
        return;
      }
      if (slot.conn.inflight > 0 || slot.timer !== undefined || issued >= budget || slot.nextDue >= deadline) return;
      const now = performance.now();
      if (slot.nextDue > now) {
        slot.timer = setTimeout(() => {
          slot.timer = undefined;
          fill(slot);
        }, slot.nextDue - now);
        return;
      }
      issued++;
      const due = slot.nextDue;
      slot.nextDue += interval;
      slot.sentAt = now;
      slot.conn.send(due);
    };

    for (let c = 0; c < options.concurrency; c++) {
      const slot: Slot = { conn: undefined as unknown as Connection, nextDue: start + (c * interval) / options.concurrency, sentAt: 0, timer: undefined };
      slot.conn = factory(target, {
        onResponse(timing, response) {
          if (stopping) return;
          lastEnd = timing.end;
          tally.response(timing, response, rate === undefined ? undefined : slot.sentAt);
          checkDone();
        },
        onFailure(kind, error, count) {
          if (stopping) return;
          lastEnd = performance.now();
          tally.failure(kind, error, count);
          checkDone();
        },
        onIdle() {
          if (draining) checkDone();
          else fill(slot);
        },
      });
      slots.push(slot);
    }

    const deadlineTimer = Number.isFinite(deadline) ? setTimeout(drain, deadline - start) : undefined;
    const expiry = setInterval(
      () => {
        const before = performance.now() - timeoutMs;
        for (const s of slots) s.conn.expire(before);
      },
      Math.min(250, timeoutMs / 4),
    );
    if (signal?.aborted === true) {
      finish();
      return;
    }
    signal?.addEventListener('abort', finish, { once: true });
    for (const s of slots) fill(s);
  });
}
