// Daemon mode (what the systemd unit runs): stay enrolled, heartbeat while idle, take jobs
// from the collector, run them and report; survive the collector going away.
import type { Logger } from 'pino';
import { bootToAgentOutcome, readUptimeSeconds } from '../bench/boot/boot-to-agent';
import { BENCHMARK_IDS, checkProfileSettings, listBenchmarks } from '../bench/registry';
import type { Detection } from '../detect/detect-platform';
import type { Inventory } from '../detect/inventory';
import { DEFAULT_PRECISION_BUDGET_SECONDS, isProfileError, loadProfile, PROFILE_NAMES } from '../profiles/profile';
import { applySelection, parseJobProfile } from '../profiles/selection';
import { isFatal, isRefusal, type CollectorClient } from './collector-client';
import { describeCollectorFailure } from './collector-check';
import { deliverLeftovers } from './deliver';
import type { Enrollment } from './enrollment';
import type { ReportThread } from './report-thread';
import { reportRun } from './report-run';
import { Backoff, RECONNECT_RETRY, sleep } from './retry-policy';
import type { Spool } from './spool';

export interface DaemonOptions {
  readonly client: CollectorClient;
  readonly agentId: string;
  /** Used when a job names no label. */
  readonly label: string;
  readonly declaredPlatform: string;
  readonly detection: Detection;
  readonly inventory: Inventory;
  readonly logger: Logger;
  readonly signal: AbortSignal;
  /** Renewed after every lost connection: the collector that answers next may be another one. */
  readonly enrollment: Enrollment;
  /** Heartbeats and samples of each job's run (see ReportThread). */
  readonly reportThread?: ReportThread;
  readonly spool: Spool;
  /** How long one WaitForJob call waits. @default 25000 */
  readonly waitMs?: number;
  /** /proc/uptime when the agent came up, for boot.to_agent on a job soon after boot. */
  readonly readyUptime?: number;
  /** Stop after this many jobs (tests). @default unlimited */
  readonly maxJobs?: number;
}

export async function runDaemon(options: DaemonOptions): Promise<number> {
  const { client, logger, signal } = options;
  let jobs = 0;
  const backoff = new Backoff(RECONNECT_RETRY);
  const { enrollment } = options;
  // One log line per change of the connection's state, not one per retry.
  let state = '';
  const setState = (
    event: 'collector-waiting' | 'collector-unreachable' | 'collector-refused',
    key: string,
    fields: Record<string, unknown>,
    message: string,
  ): void => {
    if (key === state) return;
    state = key;
    (event === 'collector-waiting' ? logger.info.bind(logger) : logger.warn.bind(logger))({ event, ...fields }, message);
  };
  // While waiting, one attempt per call and the stop signal cancels it: SIGTERM ends the
  // daemon at once, and the loop below does the retrying.
  const waiting = { attempts: 1, signal };
  while (!signal.aborted && (options.maxJobs === undefined || jobs < options.maxJobs)) {
    try {
      if (enrollment.current === undefined) {
        await enrollment.renew(waiting);
        await deliverLeftovers(client, options.spool, logger);
      }
      await client.heartbeat({ agentId: options.agentId, runId: '', currentBenchmark: '', takesJobs: true, guestMonotonicMs: 0 }, waiting);
      setState('collector-waiting', 'waiting', { collector: client.address }, 'waiting for jobs');
      const res = await client.waitForJob({ agentId: options.agentId, waitMs: options.waitMs ?? 25_000 }, waiting);
      backoff.reset();
      const job = res.job;
      if (job === undefined) continue;
      jobs++;
      logger.info({ event: 'job-received', jobId: job.id, profile: job.profile, label: job.label }, 'job received');
      let profile;
      try {
        const spec = parseJobProfile(job.profile, PROFILE_NAMES);
        profile = applySelection(loadProfile(spec.name, listBenchmarks()), spec.selection, BENCHMARK_IDS);
        checkProfileSettings(profile);
      } catch (err: unknown) {
        if (!isProfileError(err)) throw err;
        logger.error({ event: 'job-refused', jobId: job.id, err }, 'job names a profile, benchmark or setting this agent does not have');
        continue;
      }
      const result = await reportRun({
        ...options,
        profile,
        label: job.label !== '' ? job.label : options.label,
        jobId: job.id,
        takesJobs: true,
        // A job names a profile only: its precision setting, if any, applies.
        precision:
          profile.precision === undefined
            ? undefined
            : { halfWidth: profile.precision, budgetSeconds: profile.precisionBudgetSeconds ?? DEFAULT_PRECISION_BUDGET_SECONDS },
        extraOutcomes: [bootToAgentOutcome(options.readyUptime, readUptimeSeconds(), options.inventory.clocksource)].filter((o) => o !== undefined),
      });
      logger.info(
        {
          event: 'job-done',
          jobId: job.id,
          runId: result.runId,
          status: result.status,
          failed: result.failedBenchmarks.map((f) => f.benchmarkId),
          acked: result.acked,
          samples: result.samples,
        },
        'job done',
      );
    } catch (err: unknown) {
      if (signal.aborted) break;
      // The collector refused what this agent sends (INVALID_ARGUMENT): no retry can cure it.
      if (isRefusal(err)) throw err;
      enrollment.forget();
      const cause = describeCollectorFailure(err, client.address, client.tls !== undefined);
      // A token the collector refuses is not a network problem, and is told as such; the
      // daemon still waits, for an operator may create or fix the token meanwhile.
      if (isFatal(err)) setState('collector-refused', cause, { err, cause }, `the collector refuses this agent (${cause}); trying again until it takes it`);
      else setState('collector-unreachable', cause, { err, cause }, `collector unreachable (${cause}); retrying until it is back`);
      await sleep(backoff.next() ?? RECONNECT_RETRY.maxDelayMs, signal);
    }
  }
  logger.info({ event: 'daemon-stopped', jobs }, 'daemon stopped');
  return 0;
}
