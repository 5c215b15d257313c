// A run reported to a collector: enroll, start, stream each benchmark's samples as soon as
// it finishes, heartbeat meanwhile, end the run, and say whether every sample was acked.
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { RunStatus, type EnrollRequest } from '@guestbench/proto';
import type { Logger } from 'pino';
import { runSuite, type BenchmarkOutcome, type PrecisionTarget, type RunnerEvent } from '../bench/runner';
import type { TrialFault } from '../bench/trial-fault';
import type { BenchTargets } from '../bench/types';
import type { Detection } from '../detect/detect-platform';
import type { Inventory } from '../detect/inventory';
import { resolveAnnouncedSink } from '../net/announced-sink';
import type { Profile } from '../profiles/profile';
import { AGENT_VERSION } from '../version';
import { isCollectorError, isRefusal, type CallOptions, type CollectorClient } from './collector-client';
import { status as GrpcStatus } from '@grpc/grpc-js';
import { deliverRun } from './deliver';
import { HeartbeatPump } from './heartbeat-pump';
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
  /** Already enrolled (daemon mode): skip Enroll. */
  readonly enrolled?: { readonly heartbeatIntervalMs: number; readonly netSink?: string };
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

export function enrollRequest(options: Pick<ReportRunOptions, 'agentId' | 'declaredPlatform' | 'detection' | 'inventory'>): EnrollRequest {
  return {
    agentId: options.agentId,
    hostname: os.hostname(),
    declaredPlatform: options.declaredPlatform,
    detected: { platform: options.detection.platform, evidence: options.detection.evidence.map((e) => ({ ...e })) },
    inventory: { ...options.inventory },
    agentVersion: AGENT_VERSION,
  };
}

/** Enrolls this agent: its identity, detected and declared platform, and inventory. */
export async function enroll(
  options: Pick<ReportRunOptions, 'client' | 'agentId' | 'declaredPlatform' | 'detection' | 'inventory' | 'logger'>,
  callOptions?: CallOptions,
): Promise<{ heartbeatIntervalMs: number; netSink?: string }> {
  const res = await options.client.enroll(enrollRequest(options), callOptions);
  const netSink = resolveAnnouncedSink(res.netSink, options.client.address);
  options.logger.info({ event: 'enrolled', agentId: options.agentId, collector: options.client.address, netSink }, 'enrolled');
  return { heartbeatIntervalMs: res.heartbeatIntervalMs, netSink };
}

/** The collector said no to who we are (a token problem) or to what we sent: not a network problem. */
const FATAL = new Set<number>([GrpcStatus.UNAUTHENTICATED, GrpcStatus.PERMISSION_DENIED, GrpcStatus.FAILED_PRECONDITION, GrpcStatus.INVALID_ARGUMENT]);

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => { clearTimeout(t); resolve(); }, { once: true });
  });
}

/**
 * Runs the suite and reports it. Every sample goes to the spool (fsync'd) before it is
 * sent and leaves it only when acknowledged; when the collector is unreachable the run goes
 * on, and what is spooled is delivered when it is back (until `deliverTimeoutMs` after the
 * run; what is left then stays in the spool for the next agent start).
 */
export async function reportRun(options: ReportRunOptions): Promise<ReportRunResult> {
  const { client, logger } = options;
  const runId = randomUUID();
  const log = logger.child({ runId });
  let enrolled = options.enrolled;
  const start = {
    runId, agentId: options.agentId, profile: options.profile.name, label: options.label, agentVersion: AGENT_VERSION,
    startedAtMs: Date.now(), jobId: options.jobId ?? '',
  };
  const spooled = options.spool.begin(enrollRequest(options), start);
  const sent = new Set<string>();
  const acked = new Set<string>();
  let started = false;
  let lastProblem = '';
  /** The collector refused this run as invalid: it was set aside, and the run stops. */
  let refused: unknown;

  // While benchmarks run, a delivery is one quick attempt, and after a failure none are
  // made for a while: an unreachable collector must not stall the run (nor load the
  // machine between benchmarks). After the run, the drain below retries patiently.
  let quietUntil = 0;
  let quietMs = 2000;
  const QUICK = { attempts: 1, deadlineMs: 3000 };

  /** One delivery attempt of everything spooled for this run; failures are logged, not thrown. */
  async function tryDeliver(duringRun = false): Promise<boolean> {
    if (duringRun && Date.now() < quietUntil) return false;
    try {
      enrolled ??= await enroll(options, duringRun ? QUICK : undefined);
      const result = await deliverRun(client, spooled, started, duringRun ? QUICK : undefined, true);
      quietMs = 2000;
      started = true;
      result.acked.forEach((id) => acked.add(id));
      lastProblem = '';
      return result.done;
    } catch (err: unknown) {
      // Refusals that no retry can cure end the run at once, with the collector's words.
      if (isCollectorError(err) && err.code !== undefined && FATAL.has(err.code)) {
        if (isRefusal(err) && refused === undefined) {
          refused = err;
          const dir = spooled.setAside(err.message);
          log.error({ event: 'run-refused', err, setAside: dir }, 'the collector refused this run; it is set aside and not retried');
        }
        throw err;
      }
      if (duringRun) {
        quietUntil = Date.now() + quietMs;
        quietMs = Math.min(quietMs * 2, 60_000);
      }
      const message = err instanceof Error ? err.message : String(err);
      if (message !== lastProblem) log.warn({ event: 'collector-unreachable', err, spooled: spooled.pending().length }, 'collector unreachable; samples stay spooled');
      lastProblem = message;
      return false;
    }
  }

  try {
    await tryDeliver(true);
  } catch (err: unknown) {
    // Refused before anything was measured (no token, a token for another agent): nothing of
    // this run exists, so nothing may stay behind to be delivered as a failed run later.
    if (!started && spooled.pending().length === 0) spooled.remove();
    throw err;
  }
  log.info({ event: 'run-started', profile: options.profile.name, label: options.label, collectorReached: started }, 'run started');
  const beatRequest = (currentBenchmark: string) => ({ agentId: options.agentId, runId, currentBenchmark, takesJobs: options.takesJobs ?? false });
  const pump = new HeartbeatPump(client.address, Math.max(200, enrolled?.heartbeatIntervalMs || 5000), beatRequest(''), { token: client.token, tls: client.tls });

  const failed: FailedBenchmarkReport[] = [];
  const imprecise: string[] = [];
  let measured = 0;
  let inSuite = false;
  async function deliver(outcome: BenchmarkOutcome): Promise<void> {
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
    const before = acked.size;
    await tryDeliver(true);
    log.info({ event: 'samples-acked', benchmark: outcome.benchmarkId, acked: acked.size - before, sent: samples.length, spooled: spooled.pending().length }, 'samples acknowledged');
  }

  // The collector's sink is read when each benchmark starts, and asked for again right before
  // a network benchmark: a collector restarted meanwhile may listen on another port.
  const givenSink = options.targets?.netSink;
  const targets: BenchTargets = { ...options.targets, get netSink() { return givenSink ?? enrolled?.netSink; } };
  async function refreshSink(): Promise<void> {
    // Not while the collector is known to be unreachable: that must not stall the run.
    if (givenSink !== undefined || Date.now() < quietUntil) return;
    try {
      enrolled = await enroll(options, QUICK);
    } catch (err: unknown) {
      if (isCollectorError(err) && err.code !== undefined && FATAL.has(err.code)) throw err;
      quietUntil = Date.now() + quietMs;
      quietMs = Math.min(quietMs * 2, 60_000);
      log.warn({ event: 'collector-unreachable', err }, 'could not ask the collector for its net sink; using the one it announced before');
    }
  }

  let status = RunStatus.RUN_STATUS_COMPLETED;
  let error = '';
  try {
    for (const extra of options.extraOutcomes ?? []) await deliver(extra);
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
          pump.update(beatRequest(event.benchmarkId));
          log.info({ event: 'benchmark-start', benchmark: event.benchmarkId, index: event.index + 1, total: event.total }, 'benchmark started');
        } else if (event.type === 'benchmark-end') {
          await deliver(event.outcome);
        }
      },
    });
  } catch (err: unknown) {
    status = options.signal?.aborted === true ? RunStatus.RUN_STATUS_CANCELLED : RunStatus.RUN_STATUS_FAILED;
    error = err instanceof Error ? err.message : String(err);
  } finally {
    await pump.stop();
  }
  if (refused !== undefined) throw refused;
  // Some benchmarks failed while others measured: the run is partial, and the others' samples
  // stand (the comparison uses them); only a run that measured nothing has failed.
  if (status === RunStatus.RUN_STATUS_COMPLETED && failed.length > 0) {
    status = measured > 0 ? RunStatus.RUN_STATUS_PARTIAL : RunStatus.RUN_STATUS_FAILED;
    error = `benchmarks failed: ${failed.map((f) => f.benchmarkId).join(', ')}`;
  }
  spooled.markEnded({ runId, status, error, sampleCount: sent.size, endedAtMs: Date.now(), failedBenchmarks: failed.map((f) => ({ ...f })) });

  // Drain: deliver what is left and end the run, with backoff, within the deadline.
  const deadline = Date.now() + (options.deliverTimeoutMs ?? 600_000);
  let delay = 500;
  let done = await tryDeliver();
  while (!done && Date.now() < deadline) {
    log.info({ event: 'delivery-retry', inMs: delay, spooled: spooled.pending().length }, 'retrying delivery');
    await sleep(Math.min(delay, Math.max(0, deadline - Date.now())));
    delay = Math.min(delay * 2, 10_000);
    done = await tryDeliver();
  }
  const unacked = [...sent].filter((id) => !acked.has(id));
  log.info(
    { event: 'run-ended', status: RunStatus[status], samples: sent.size, acked: acked.size, unacked: unacked.length, delivered: done, spool: done ? undefined : spooled.dir },
    done ? 'run ended' : 'run ended; not everything reached the collector: it stays in the spool',
  );
  const statusName = status === RunStatus.RUN_STATUS_COMPLETED ? 'completed' : status === RunStatus.RUN_STATUS_PARTIAL ? 'partial' : status === RunStatus.RUN_STATUS_CANCELLED ? 'cancelled' : 'failed';
  return { runId, status: statusName, samples: sent.size, acked: acked.size, failedBenchmarks: failed, imprecise, unacked, delivered: done };
}
