import { status as GrpcStatus } from '@grpc/grpc-js';
import { CHECK_DEADLINE_MS, reachCollector } from './collector-check';
import { CollectorError } from './collector-client';

/** A clock the test moves: each attempt takes `costMs` of it. */
function clock(): { now: () => number; advance: (ms: number) => void } {
  let t = 0;
  return { now: () => t, advance: (ms) => (t += ms) };
}

test('a slow first answer gets the whole budget, in one attempt', async () => {
  const c = clock();
  const deadlines: number[] = [];
  const result = await reachCollector(async (opts) => {
    deadlines.push(opts.deadlineMs);
    return 'enrolled';
  }, c.now);
  expect(result).toBe('enrolled');
  expect(deadlines).toEqual([CHECK_DEADLINE_MS]);
});

test('a dropped connection is tried again within the budget, then the last error is thrown', async () => {
  const c = clock();
  const deadlines: number[] = [];
  const dropped = new CollectorError('Enroll to h:1 failed: Connection dropped', GrpcStatus.UNAVAILABLE);
  await expect(
    reachCollector(async (opts) => {
      deadlines.push(opts.deadlineMs);
      c.advance(1500);
      throw dropped;
    }, c.now),
  ).rejects.toBe(dropped);
  // 5000 ms in all: attempts with what is left, none after the budget is spent.
  expect(deadlines).toEqual([5000, 3500, 2000, 500]);
});

test.each([
  ['Enroll to h:1 failed: No connection established. Last error: Error: connect ECONNREFUSED 127.0.0.1:1', GrpcStatus.UNAVAILABLE],
  ['Enroll to h:1 failed: No connection established. Last error: Protocol error', GrpcStatus.UNAVAILABLE],
  ['Enroll to h:1 failed: unknown token', GrpcStatus.UNAUTHENTICATED],
])('a definitive failure is told at once, without a second attempt: %s', async (message, code) => {
  let attempts = 0;
  const err = new CollectorError(message, code);
  await expect(
    reachCollector(async () => {
      attempts++;
      throw err;
    }, clock().now),
  ).rejects.toBe(err);
  expect(attempts).toBe(1);
});
