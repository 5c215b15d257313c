import { status as GrpcStatus } from '@grpc/grpc-js';
import { Backoff, isFatalCode, isRetryableCode, movesToNextAddress, sleep } from './retry-policy';

test('refusals are fatal and never retried; a collector that does not answer is retried', () => {
  for (const code of [GrpcStatus.INVALID_ARGUMENT, GrpcStatus.PERMISSION_DENIED, GrpcStatus.UNAUTHENTICATED, GrpcStatus.FAILED_PRECONDITION]) {
    expect([GrpcStatus[code], isFatalCode(code), isRetryableCode(code), movesToNextAddress(code)]).toEqual([GrpcStatus[code], true, false, false]);
  }
  for (const code of [GrpcStatus.UNAVAILABLE, GrpcStatus.DEADLINE_EXCEEDED]) {
    expect([GrpcStatus[code], isFatalCode(code), isRetryableCode(code), movesToNextAddress(code)]).toEqual([GrpcStatus[code], false, true, true]);
  }
  // Busy or a conflict: retried at the same address.
  for (const code of [GrpcStatus.RESOURCE_EXHAUSTED, GrpcStatus.ABORTED]) {
    expect([isFatalCode(code), isRetryableCode(code), movesToNextAddress(code)]).toEqual([false, true, false]);
  }
  // A bug on either side: neither retried nor called a refusal.
  for (const code of [GrpcStatus.INTERNAL, GrpcStatus.UNIMPLEMENTED, GrpcStatus.NOT_FOUND, undefined]) {
    expect([isFatalCode(code), isRetryableCode(code)]).toEqual([false, false]);
  }
});

test('delays double from the initial one up to the cap; reset starts over', () => {
  const b = new Backoff({ initialDelayMs: 100, maxDelayMs: 1000, jitter: 0 });
  expect([b.next(), b.next(), b.next(), b.next(), b.next(), b.next()]).toEqual([100, 200, 400, 800, 1000, 1000]);
  b.reset();
  expect(b.next()).toBe(100);
});

test('jitter spreads each delay over ±jitter of its nominal value', () => {
  const low = new Backoff({ initialDelayMs: 1000, maxDelayMs: 10_000, jitter: 0.2 }, Date.now, () => 0);
  const high = new Backoff({ initialDelayMs: 1000, maxDelayMs: 10_000, jitter: 0.2 }, Date.now, () => 0.999999);
  expect([low.next(), low.next()]).toEqual([800, 1600]);
  expect([high.next(), high.next()]).toEqual([1200, 2400]);
  // Two agents with different draws wait differently.
  const draws = new Set(Array.from({ length: 20 }, () => new Backoff({ initialDelayMs: 1000, maxDelayMs: 1000 }).next()));
  expect(draws.size).toBeGreaterThan(1);
});

test('attempts count the first try: 3 attempts give 2 retries', () => {
  const b = new Backoff({ initialDelayMs: 10, maxDelayMs: 10, attempts: 3, jitter: 0 });
  expect([b.next(), b.next(), b.next()]).toEqual([10, 10, undefined]);
  expect(b.attempts).toBe(3);
  expect(new Backoff({ initialDelayMs: 10, maxDelayMs: 10, attempts: 1 }).next()).toBeUndefined();
});

test('no retry after the deadline, and the last delay is cut short at it', () => {
  let t = 0;
  const b = new Backoff({ initialDelayMs: 400, maxDelayMs: 400, deadlineMs: 1000, jitter: 0 }, () => t);
  expect(b.next()).toBe(400);
  t = 700;
  expect(b.next()).toBe(300);
  t = 1000;
  expect(b.next()).toBeUndefined();
});

test('sleep ends early when its signal aborts', async () => {
  const controller = new AbortController();
  const slept = sleep(60_000, controller.signal);
  controller.abort();
  await expect(slept).resolves.toBeUndefined();
  await expect(sleep(60_000, controller.signal)).resolves.toBeUndefined();
});
