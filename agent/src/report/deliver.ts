// Delivers a spooled run to the collector: start (idempotent), pending samples, end. Each
// step can fail and be retried later; the spool keeps whatever is not acknowledged.
import { RunStatus } from '@guestbench/proto';
import type { Logger } from 'pino';
import { isRefusal, type CallOptions, type CollectorClient } from './collector-client';
import type { Spool, SpooledRun } from './spool';

export interface DeliveryResult {
  readonly runId: string;
  readonly acked: readonly string[];
  /** Samples still in the spool. */
  readonly pending: number;
  /** Whether the run is fully delivered and gone from the spool. */
  readonly done: boolean;
}

/**
 * Delivers what is spooled for one run. `started` skips StartRun when this process already
 * started it. Throws when the collector cannot be reached (the spool is unchanged then).
 */
export async function deliverRun(client: CollectorClient, run: SpooledRun, started = false, opts?: CallOptions, enrolled = false): Promise<DeliveryResult> {
  const state = run.state();
  if (!started) {
    // Enroll is an idempotent upsert; it makes sure the collector knows the agent even when
    // this run was measured while it was unreachable.
    if (!enrolled) await client.enroll(state.enroll, opts);
    await client.startRun(state.start, opts);
  }
  const acked: string[] = [];
  const pending = run.pending();
  for (let i = 0; i < pending.length; i += 100) {
    const batch = pending.slice(i, i + 100);
    const res = await client.submitSamples({ runId: run.runId, samples: batch }, opts);
    run.acknowledge(res.ackedSampleIds);
    acked.push(...res.ackedSampleIds);
  }
  const left = run.pending().length;
  if (state.end !== undefined && left === 0) {
    await client.endRun(state.end, opts);
    run.remove();
    return { runId: run.runId, acked, pending: 0, done: true };
  }
  return { runId: run.runId, acked, pending: left, done: false };
}

/**
 * Delivers every run a previous agent process left in the spool. A run that never ended
 * there (the process was killed mid-run) is ended as failed: its samples are real, the
 * run is not complete. A run the collector refuses as invalid is set aside (see
 * SpooledRun.setAside) and the others are still delivered; then the first refusal is thrown,
 * so the agent stops with the collector's words instead of trying it again at every start.
 */
export async function deliverLeftovers(client: CollectorClient, spool: Spool, logger: Logger, exceptRunId?: string): Promise<number> {
  let delivered = 0;
  let refusal: unknown;
  for (const run of spool.runs()) {
    if (run.runId === exceptRunId || run.ownedByOtherProcess()) continue;
    const state = run.state();
    if (state.end === undefined) {
      run.markEnded({
        runId: run.runId,
        status: RunStatus.RUN_STATUS_FAILED,
        error: 'the agent process ended before the run finished; these are the samples it had measured',
        sampleCount: 0,
        endedAtMs: Date.now(),
        failedBenchmarks: [],
      });
    }
    let result: DeliveryResult;
    try {
      result = await deliverRun(client, run);
    } catch (err: unknown) {
      if (!isRefusal(err)) throw err;
      const dir = run.setAside(err.message);
      logger.error({ event: 'spool-run-refused', runId: run.runId, err, setAside: dir }, 'the collector refused a spooled run; it is set aside and not retried');
      refusal ??= err;
      continue;
    }
    delivered += result.acked.length;
    logger.info({ event: 'spool-delivered', runId: run.runId, acked: result.acked.length, pending: result.pending, done: result.done }, 'spooled run delivered');
  }
  if (refusal !== undefined) throw refusal;
  return delivered;
}
