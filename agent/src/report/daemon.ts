// Daemon mode (what the systemd unit runs): stay enrolled, heartbeat while idle, take jobs
// from the collector, run them and report; survive the collector going away.
import type { Logger } from 'pino';
import { bootToAgentOutcome, readUptimeSeconds } from '../bench/boot/boot-to-agent';
import { BENCHMARK_IDS } from '../bench/registry';
import type { Detection } from '../detect/detect-platform';
import type { Inventory } from '../detect/inventory';
import { isProfileError, loadProfile } from '../profiles/profile';
import type { CollectorClient } from './collector-client';
import { deliverLeftovers } from './deliver';
import { enroll, reportRun } from './report-run';
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
  readonly spool: Spool;
  /** How long one WaitForJob call waits. @default 25000 */
  readonly waitMs?: number;
  /** /proc/uptime when the agent came up, for boot.to_agent on a job soon after boot. */
  readonly readyUptime?: number;
  /** Stop after this many jobs (tests). @default unlimited */
  readonly maxJobs?: number;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => { clearTimeout(t); resolve(); }, { once: true });
  });
}

export async function runDaemon(options: DaemonOptions): Promise<number> {
  const { client, logger, signal } = options;
  let jobs = 0;
  let backoff = 1000;
  let enrolled: { heartbeatIntervalMs: number } | undefined;
  while (!signal.aborted && (options.maxJobs === undefined || jobs < options.maxJobs)) {
    try {
      if (enrolled === undefined) {
        enrolled = await enroll(options);
        await deliverLeftovers(client, options.spool, logger);
      }
      await client.heartbeat({ agentId: options.agentId, runId: '', currentBenchmark: '', takesJobs: true, guestMonotonicMs: 0 });
      const res = await client.waitForJob({ agentId: options.agentId, waitMs: options.waitMs ?? 25_000 });
      backoff = 1000;
      const job = res.job;
      if (job === undefined) continue;
      jobs++;
      logger.info({ event: 'job-received', jobId: job.id, profile: job.profile, label: job.label }, 'job received');
      let profile;
      try {
        profile = loadProfile(job.profile, BENCHMARK_IDS);
      } catch (err: unknown) {
        if (!isProfileError(err)) throw err;
        logger.error({ event: 'job-refused', jobId: job.id, err }, 'job names a profile this agent does not have');
        continue;
      }
      const result = await reportRun({
        ...options,
        profile,
        label: job.label !== '' ? job.label : options.label,
        jobId: job.id,
        takesJobs: true,
        enrolled,
        extraOutcomes: [bootToAgentOutcome(options.readyUptime, readUptimeSeconds(), options.inventory.clocksource)].filter((o) => o !== undefined),
      });
      logger.info({ event: 'job-done', jobId: job.id, runId: result.runId, acked: result.acked, samples: result.samples }, 'job done');
    } catch (err: unknown) {
      if (signal.aborted) break;
      enrolled = undefined;
      logger.warn({ event: 'collector-unreachable', err, retryInMs: backoff }, 'collector call failed; retrying');
      await sleep(backoff, signal);
      backoff = Math.min(backoff * 2, 30_000);
    }
  }
  logger.info({ event: 'daemon-stopped', jobs }, 'daemon stopped');
  return 0;
}
