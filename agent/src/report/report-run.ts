// A run reported to a collector, one way: measure → spool → deliver. Each benchmark's
// samples are spooled as it finishes and handed to the report thread, which sends those of
// benchmarks that finish close together in one call and heartbeats meanwhile; after the run
// what is left is delivered with the run's end, and the result says whether all of it was.
import { randomUUID } from 'node:crypto';
import { RunStatus } from '@guestbench/proto';
import type { Logger } from 'pino';
import { runSuite, type BenchmarkOutcome, type PrecisionTarget, type RunnerEvent } from '../bench/runner';
import type { TrialFault } from '../bench/trial-fault';
import type { BenchTargets } from '../bench/types';
import type { Detection } from '../detect/detect-platform';
import type { Inventory } from '../detect/inventory';
import type { Profile } from '../profiles/profile';
import { AGENT_VERSION } from '../version';
import { CollectorError, isFatal, isRefusal, type CallOptions, type CollectorClient } from './collector-client';
import { RunDelivery } from './deliver';
import type { Enrollment } from './enrollment';
import { ReportThread } from './report-thread';
import { Backoff, DRAIN_RETRY, isFatalCode, QUIET_RETRY, sleep } from './retry-policy';
import type { Spool } from './spool';
import { sampleToWire } from './to-wire';

export interface ReportRunOptions {
  readonly client: CollectorClient;
  readonly agentId: string;
  readonly profile: Profile;
  readonly label: string;
  /** Declared platform, or '' for auto. */
  readonly declaredPlatform: string;
  readonly detection: Detection;
  readonly inventory: Inventory;
  readonly logger: Logger;
  readonly signal?: AbortSignal;
  /** The job this run answers; '' or absent for a run started by hand. */
  readonly jobId?: string;
  /** Whether this agent takes jobs (daemon mode), told to the collector with each heartbeat. */
  readonly takesJobs?: boolean;
  /** This agent's enrollment: made already (the check before a run, the daemon), or at the run's first delivery. */
  readonly enrollment: Enrollment;
  /** Disk folder and network sink; the sink defaults to the one the collector announced at enrollment. */
  readonly targets?: BenchTargets;
  /** Where samples wait until acknowledged. */
  readonly spool: Spool;
  /** How long to keep trying to deliver after the run. @default 600000 */
  readonly deliverTimeoutMs?: number;
  /** Extra samples measured outside the suite (e.g. boot.to_agent), sent first. */
  readonly extraOutcomes?: readonly BenchmarkOutcome[];
  /** Told of the suite's progress too, e.g. to print each finished benchmark. */
  readonly onEvent?: (event: RunnerEvent) => void;
  /** Keep measuring until each primary metric's interval is this narrow (run --precision). */
  readonly precision?: PrecisionTarget;
  /** Test-only impossible trials (GUESTBENCH_TEST_IMPOSSIBLE_TRIAL). */
  readonly fault?: TrialFault;
  /** How long a finished benchmark's samples wait for others to share their call (≤ 1000). @default 500 */
  readonly sampleLingerMs?: number;
  /** The agent's report thread (started early, see ReportThread); one of its own for this run when absent. */
  readonly reportThread?: ReportThread;
}

/** A benchmark that gave no samples, and why. */
export interface FailedBenchmarkReport {
  readonly benchmarkId: string;
  readonly reason: string;
}

export interface ReportRunResult {
  readonly runId: string;
  readonly samples: number;
  readonly acked: number;
  /** completed; partial when some benchmarks failed and others gave samples; failed; cancelled. */
  readonly status: 'completed' | 'partial' | 'failed' | 'cancelled';
  readonly failedBenchmarks: readonly FailedBenchmarkReport[];
  /** Benchmarks whose primary metric missed the precision target (flag precision-not-reached). */
  readonly imprecise: readonly string[];
  readonly unacked: readonly string[];
  /** Whether the collector has the whole run, its end included. */
  readonly delivered: boolean;
}

/** Logs the death of a report thread: the run goes on, without heartbeats, delivered after it ends. */
export function reportThreadFailed(logger: Logger): (err: Error) => void {
  return (err) => logger.error({ event: 'report-thread-failed', err }, 'the report thread died: no more heartbeats; samples are sent after the run');
}

/**
 * Runs the suite and reports it. Every sample goes to the spool (fsync'd) before it is
 * sent and leaves it only when acknowledged; when the collector is unreachable the run goes
 * on, and what is spooled is delivered when it is back (until `deliverTimeoutMs` after the
 * run; what is left then stays in the spool for the next agent start).
 */
export async function reportRun(options: ReportRunOptions): Promise<ReportRunResult> {
  const { client, logger, enrollment } = options;
  const runId = randomUUID();
  const log = logger.child({ runId });
  const start = {
    runId,
    agentId: options.agentId,
    profile: options.profile.name,
    label: options.label,
    agentVersion: AGENT_VERSION,
    startedAtMs: Date.now(),
    jobId: options.jobId ?? '',
  };
  const spooled = options.spool.begin(enrollment.request, start);
  const delivery = new RunDelivery(client, spooled, enrollment);
  const sent = new Set<string>();
  let lastProblem = '';
  /** The collector refused this run as invalid: it was set aside, and the run stops. */
  let refused: CollectorError | undefined;

  // While benchmarks run, a call is one quick attempt, and after a failure none are made for
  // a while: an unreachable collector must not stall the run (nor load the machine between
  // benchmarks). After the run, the drain below retries patiently.
  const QUICK: CallOptions = { attempts: 1, deadlineMs: 3000 };
  const quiet = new Backoff(QUIET_RETRY);
  let quietUntil = 0;
  const isQuiet = (): boolean => Date.now() < quietUntil;

  /** While benchmarks run, or after, delivering what is left. */
  type Phase = 'measuring' | 'draining';
  /**
   * A failed call: a refusal ends the run (thrown, with the collector's words); anything else
   * is logged, and while the run goes on the collector is left alone for a while.
   */
  function callFailed(err: unknown, phase: Phase): void {
    if (isFatal(err)) {
      if (isRefusal(err) && refused === undefined) {
        refused = err;
        const dir = spooled.setAside(err.message);
        log.error({ event: 'run-refused', err, setAside: dir }, 'the collector refused this run; it is set aside and not retried');
      }
      throw err;
    }
    if (phase === 'measuring') quietUntil = Date.now() + (quiet.next() ?? QUIET_RETRY.maxDelayMs);
    const message = err instanceof Error ? err.message : String(err);
    if (message !== lastProblem)
      log.warn({ event: 'collector-unreachable', err, spooled: spooled.pending().length }, 'collector unreachable; samples stay spooled');
    lastProblem = message;
  }

  /** Runs one delivery step; true when it went through, false when it failed and was logged. */
  async function attempt(phase: Phase, step: () => Promise<unknown>): Promise<boolean> {
    try {
      await step();
      quiet.reset();
      lastProblem = '';
      return true;
    } catch (err: unknown) {
      callFailed(err, phase);
      return false;
    }
  }

  // Samples handed to the report thread and not answered yet; a failed batch goes back to
  // the spool's pending ones, to be handed over again (or sent by the drain).
  const handedOver = new Set<string>();
  let threadFailure: CollectorError | undefined;
  const beat = (currentBenchmark: string) => ({ agentId: options.agentId, runId, currentBenchmark, takesJobs: options.takesJobs ?? false });
  // The collector's heartbeat interval, once enrolled.
  const interval = (): number => Math.max(200, enrollment.current?.heartbeatIntervalMs || 5000);
  const thread =
    options.reportThread ?? new ReportThread({ client, intervalMs: interval(), lingerMs: options.sampleLingerMs, onError: reportThreadFailed(logger) });
  thread.beginRun({
    runId,
    onAcked: (ids) => {
      ids.forEach((id) => handedOver.delete(id));
      if (refused === undefined) delivery.acknowledge(ids);
    },
    onSendFailed: (ids, code, message) => {
      ids.forEach((id) => handedOver.delete(id));
      const err = new CollectorError(message, code);
      // Acted on by the main thread at the next benchmark's end (or the run's).
      if (isFatalCode(code)) threadFailure ??= err;
      // Batches in flight together fail together: one outage quiets the collector once.
      else if (refused === undefined && !isQuiet()) callFailed(err, 'measuring');
    },
  });
  const endThreadRun = async (): Promise<void> => {
    await thread.endRun();
    if (options.reportThread === undefined) await thread.stop();
  };

  try {
    await attempt('measuring', () => delivery.start(QUICK));
  } catch (err: unknown) {
    await endThreadRun();
    // Refused before anything was measured (no token, a token for another agent): nothing of
    // this run exists, so nothing may stay behind to be delivered as a failed run later.
    if (!delivery.isStarted && spooled.pending().length === 0) spooled.remove();
    throw err;
  }
  thread.setInterval(interval());
  thread.updateBeat(beat(''));
  log.info({ event: 'run-started', profile: options.profile.name, label: options.label, collectorReached: delivery.isStarted }, 'run started');

  /** During the run: the collector gets the run's spooled samples through the report thread. */
  async function handOver(): Promise<void> {
    if (threadFailure !== undefined) callFailed(threadFailure, 'measuring');
    if (isQuiet()) return;
    if (!delivery.isStarted) {
      if (!(await attempt('measuring', () => delivery.start(QUICK)))) return;
      thread.setInterval(interval());
    }
    thread.send(
      spooled
        .pending()
        .filter((s) => !handedOver.has(s.id))
        .map((s) => (handedOver.add(s.id), s)),
    );
  }

  const failed: FailedBenchmarkReport[] = [];
  const imprecise: string[] = [];
  let measured = 0;
  let inSuite = false;
  async function benchmarkEnded(outcome: BenchmarkOutcome): Promise<void> {
    if (!outcome.ok) {
      failed.push({ benchmarkId: outcome.benchmarkId, reason: outcome.error.message.slice(0, 1000) });
      log.error({ event: 'benchmark-failed', benchmark: outcome.benchmarkId, err: outcome.error }, 'benchmark failed');
      return;
    }
    if (inSuite) measured++;
    if (outcome.samples.some((s) => s.flags.includes('precision-not-reached'))) imprecise.push(outcome.benchmarkId);
    const samples = outcome.samples.map((s) => sampleToWire(runId, s));
    spooled.add(samples);
    samples.forEach((s) => sent.add(s.id));
    await handOver();
    log.info(
      { event: 'samples-spooled', benchmark: outcome.benchmarkId, samples: samples.length, acked: delivery.acked.size, spooled: spooled.pending().length },
      'samples spooled and handed over',
    );
  }

  // The collector's sink is read when each benchmark starts, and asked for again right before
  // a network benchmark: a collector restarted meanwhile may listen on another port.
  const givenSink = options.targets?.netSink;
  const targets: BenchTargets = {
    ...options.targets,
    get netSink() {
      return givenSink ?? enrollment.current?.netSink;
    },
  };
  async function refreshSink(): Promise<void> {
    // Not while the collector is known to be unreachable: that must not stall the run.
    if (givenSink !== undefined || isQuiet()) return;
    if (!(await attempt('measuring', () => enrollment.renew(QUICK)))) {
      log.warn({ event: 'net-sink-not-refreshed' }, 'could not ask the collector for its net sink; using the one it announced before');
    }
  }

  let status = RunStatus.RUN_STATUS_COMPLETED;
  let error = '';
  try {
    for (const extra of options.extraOutcomes ?? []) await benchmarkEnded(extra);
    inSuite = true;
    await runSuite({
      profile: options.profile,
      signal: options.signal,
      precision: options.precision,
      fault: options.fault,
      targets,
      onEvent: async (event) => {
        options.onEvent?.(event);
        if (event.type === 'benchmark-start') {
          if (event.benchmarkId.startsWith('net.')) await refreshSink();
          thread.updateBeat(beat(event.benchmarkId));
          log.info({ event: 'benchmark-start', benchmark: event.benchmarkId, index: event.index + 1, total: event.total }, 'benchmark started');
        } else if (event.type === 'benchmark-end') {
          await benchmarkEnded(event.outcome);
        }
      },
    });
  } catch (err: unknown) {
    status = options.signal?.aborted === true ? RunStatus.RUN_STATUS_CANCELLED : RunStatus.RUN_STATUS_FAILED;
    error = err instanceof Error ? err.message : String(err);
  } finally {
    // The last batch goes now, not after its linger time; then the thread's work for the run is done.
    await endThreadRun();
  }
  if (refused !== undefined) throw refused;
  // A refusal the report thread heard after the last benchmark: thrown (and set aside) now.
  if (threadFailure !== undefined) callFailed(threadFailure, 'draining');
  // Some benchmarks failed while others measured: the run is partial, and the others' samples
  // stand (the comparison uses them); only a run that measured nothing has failed.
  if (status === RunStatus.RUN_STATUS_COMPLETED && failed.length > 0) {
    status = measured > 0 ? RunStatus.RUN_STATUS_PARTIAL : RunStatus.RUN_STATUS_FAILED;
    error = `benchmarks failed: ${failed.map((f) => f.benchmarkId).join(', ')}`;
  }
  spooled.markEnded({ runId, status, error, sampleCount: sent.size, endedAtMs: Date.now(), failedBenchmarks: failed.map((f) => ({ ...f })) });

  // Drain: deliver what is left and end the run, with backoff, within the deadline.
  const drain = new Backoff({ ...DRAIN_RETRY, deadlineMs: options.deliverTimeoutMs ?? 600_000 });
  const drainOnce = async (): Promise<boolean> => {
    let done = false;
    return (await attempt('draining', async () => (done = await delivery.deliver()))) && done;
  };
  let done = await drainOnce();
  for (let delay = done ? undefined : drain.next(); delay !== undefined; delay = drain.next()) {
    log.info({ event: 'delivery-retry', inMs: delay, spooled: spooled.pending().length }, 'retrying delivery');
    await sleep(delay);
    if ((done = await drainOnce())) break;
  }
  const acked = delivery.acked;
  const unacked = [...sent].filter((id) => !acked.has(id));
  log.info(
    {
      event: 'run-ended',
      status: RunStatus[status],
      samples: sent.size,
      acked: acked.size,
      unacked: unacked.length,
      delivered: done,
      spool: done ? undefined : spooled.dir,
    },
    done ? 'run ended' : 'run ended; not everything reached the collector: it stays in the spool',
  );
  const statusName =
    status === RunStatus.RUN_STATUS_COMPLETED
      ? 'completed'
      : status === RunStatus.RUN_STATUS_PARTIAL
        ? 'partial'
        : status === RunStatus.RUN_STATUS_CANCELLED
          ? 'cancelled'
          : 'failed';
  return { runId, status: statusName, samples: sent.size, acked: acked.size, failedBenchmarks: failed, imprecise, unacked, delivered: done };
}
