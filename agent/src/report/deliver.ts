// Delivers a spooled run to the collector: enroll (see Enrollment), start (idempotent),
// pending samples, end. Each step can fail and be retried later; the spool keeps whatever
// is not acknowledged.
import { RunStatus } from '@guestbench/proto';
import type { Logger } from 'pino';
import { isRefusal, type CallOptions, type CollectorClient } from './collector-client';
import { Enrollment } from './enrollment';
import type { Spool, SpooledRun } from './spool';

/** Samples per SubmitSamples call when the main thread sends what is spooled. */
const SAMPLES_PER_CALL = 100;

/** One spooled run on its way to the collector. */
export class RunDelivery {
  private started = false;
  /** Every sample id the collector acknowledged for this run. */
  readonly acked = new Set<string>();

  constructor(
    private readonly client: CollectorClient,
    readonly run: SpooledRun,
    private readonly enrollment: Enrollment,
  ) {}

  /** Whether the collector has this run (StartRun answered), so samples can go to it. */
  get isStarted(): boolean {
    return this.started;
  }

  /**
   * Enrolls (unless already enrolled: enrolling makes sure the collector knows the agent
   * even when the run was measured while it was unreachable) and starts the run, once.
   */
  async start(call?: CallOptions): Promise<void> {
    if (this.started) return;
    await this.enrollment.ensure(call);
    await this.client.startRun(this.run.state().start, call);
    this.started = true;
  }

  /** Removes acknowledged samples from the spool. */
  acknowledge(ids: readonly string[]): void {
    this.run.acknowledge(ids);
    ids.forEach((id) => this.acked.add(id));
  }

  /**
   * Sends everything spooled for the run, and its end once it has ended and every sample is
   * acknowledged (the run then leaves the spool). Returns whether that happened. Throws when
   * the collector cannot be reached or refuses (the spool keeps what was not acknowledged).
   */
  async deliver(call?: CallOptions): Promise<boolean> {
    await this.start(call);
    const pending = this.run.pending();
    for (let i = 0; i < pending.length; i += SAMPLES_PER_CALL) {
      const res = await this.client.submitSamples({ runId: this.run.runId, samples: pending.slice(i, i + SAMPLES_PER_CALL) }, call);
      this.acknowledge(res.ackedSampleIds);
    }
    const end = this.run.state().end;
    if (end === undefined || this.run.pending().length > 0) return false;
    await this.client.endRun(end, call);
    this.run.remove();
    return true;
  }
}

/**
 * Delivers every run a previous agent process left in the spool. A run that never ended
 * there (the process was killed mid-run) is ended as failed: its samples are real, the
 * run is not complete. A run the collector refuses as invalid is set aside (see
 * SpooledRun.setAside) and the others are still delivered; then the first refusal is thrown,
 * so the agent stops with the collector's words instead of trying it again at every start.
 * Returns how many samples were delivered.
 */
export async function deliverLeftovers(client: CollectorClient, spool: Spool, logger: Logger): Promise<number> {
  let delivered = 0;
  let refusal: unknown;
  for (const run of spool.runs()) {
    if (run.ownedByOtherProcess()) continue;
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
    // Each run enrolls as it was measured (its platform, inventory and version then).
    const delivery = new RunDelivery(client, run, new Enrollment(client, state.enroll, logger));
    let done: boolean;
    try {
      done = await delivery.deliver();
    } catch (err: unknown) {
      if (!isRefusal(err)) throw err;
      const dir = run.setAside(err.message);
      logger.error(
        { event: 'spool-run-refused', runId: run.runId, err, setAside: dir },
        'the collector refused a spooled run; it is set aside and not retried',
      );
      refusal ??= err;
      continue;
    }
    delivered += delivery.acked.size;
    logger.info({ event: 'spool-delivered', runId: run.runId, acked: delivery.acked.size, pending: run.pending().length, done }, 'spooled run delivered');
  }
  if (refusal !== undefined) throw refusal;
  return delivered;
}
