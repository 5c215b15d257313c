// The gRPC service agents talk to. Every request is parsed before anything is stored;
// a sample is acknowledged only after its transaction has committed (the calls that arrive
// together share one transaction: see group-commit.ts).
import { status as GrpcStatus, type ServerUnaryCall, type ServiceError } from '@grpc/grpc-js';
import type {
  AgentServiceServer,
  EndRunRequest,
  EndRunResponse,
  EnrollRequest,
  EnrollResponse,
  HeartbeatRequest,
  HeartbeatResponse,
  SendLogsRequest,
  SendLogsResponse,
  StartRunRequest,
  StartRunResponse,
  SubmitSamplesRequest,
  SubmitSamplesResponse,
  WaitForJobRequest,
  WaitForJobResponse,
} from '@guestbench/proto';
import type { Authenticator } from '../auth/authenticator';
import type { TokenRecord } from '../auth/tokens';
import type { JobBroker } from '../jobs/job-broker';
import type { Logger } from '../log';
import type { CollectorMetrics } from '../metrics/metrics';
import type { PresenceTracker } from '../presence';
import type { AgentRecord, RunRecord } from '../model';
import type { Store } from '../store/store';
import { GroupCommitter } from './group-commit';
import { parseEndRun, parseEnroll, parseLogs, parseSamples, parseStartRun } from './parse-messages';
import { statusToWire } from './to-wire';
import { grpcError, isServiceError, unary } from './unary';

/** A monotonic clock in ms past this (31,000 years of uptime) is not a clock. */
const MAX_GUEST_MONOTONIC_MS = 1e15;

export const COLLECTOR_VERSION = '0.1.0';
const MAX_WAIT_MS = 60_000;

export interface AgentServiceOptions {
  readonly store: Store;
  readonly logger: Logger;
  readonly presence: PresenceTracker;
  readonly jobs: JobBroker;
  readonly auth: Authenticator;
  readonly metrics?: CollectorMetrics;
  /** @default 5000 */
  readonly heartbeatIntervalMs?: number;
  /** HOST:PORT of the collector's net sink, announced at enrollment; undefined when none. */
  readonly netSink?: string;
}

export function createAgentService(options: AgentServiceOptions): AgentServiceServer {
  const { store, presence, metrics } = options;
  const log = options.logger.child({ component: 'agent-service' });
  const ctx = { log, metrics };
  const committer = new GroupCommitter(store, {
    onGroupError: (err, calls) =>
      log.warn({ event: 'group-commit-failed', err, calls }, 'a group of SubmitSamples calls failed as one transaction; writing them one by one'),
  });

  /** Every refused request is one `request-rejected` event with its reason, whatever refused it. */
  function reject(
    method: string,
    code: GrpcStatus,
    message: string,
    fields: { agentId?: string; runId?: string; peer?: string; detail?: string },
  ): ServiceError {
    log.warn({ event: 'request-rejected', method, code: GrpcStatus[code], reason: message, ...fields }, 'request rejected');
    metrics?.rejected.inc({ api: 'grpc', method, code: GrpcStatus[code] });
    return grpcError(code, message);
  }

  /** The caller's token (undefined when auth is off), or the refusal to send. */
  async function authenticate(
    method: string,
    call: ServerUnaryCall<unknown, unknown>,
    ids: { agentId?: string; runId?: string },
  ): Promise<TokenRecord | undefined | ServiceError> {
    const result = await options.auth.checkMetadata(call.metadata, 'agent');
    if (result.ok) return result.token;
    return reject(method, GrpcStatus.UNAUTHENTICATED, result.reason, { ...ids, peer: call.getPeer(), detail: result.detail });
  }

  /**
   * The caller's token, or the refusal to send. An agent token is bound to one agent id at
   * its first enrollment; every later call must come from that agent.
   */
  async function caller(method: string, call: ServerUnaryCall<unknown, unknown>, agentId: string): Promise<TokenRecord | undefined | ServiceError> {
    const token = await authenticate(method, call, { agentId: agentId.slice(0, 128) });
    if (isServiceError(token)) return token;
    if (token !== undefined && method !== 'Enroll' && token.agentId !== agentId) {
      return reject(
        method,
        GrpcStatus.PERMISSION_DENIED,
        `token ${token.id} belongs to agent ${token.agentId || '(none yet: enroll first)'}, not ${agentId.slice(0, 128)}`,
        { agentId: agentId.slice(0, 128) },
      );
    }
    return token;
  }

  /** Authenticates and checks that the run exists and belongs to the caller. */
  async function ownRun(
    method: string,
    call: ServerUnaryCall<unknown, unknown>,
    runId: string,
  ): Promise<{ run: RunRecord; token: TokenRecord | undefined } | ServiceError> {
    const token = await authenticate(method, call, { runId: runId.slice(0, 128) });
    if (isServiceError(token)) return token;
    const run = await store.getRun(runId);
    if (run === undefined)
      return reject(method, GrpcStatus.NOT_FOUND, `run ${runId.slice(0, 128)} does not exist; call StartRun first`, { runId: runId.slice(0, 128) });
    if (token !== undefined && token.agentId !== run.agentId) {
      return reject(method, GrpcStatus.PERMISSION_DENIED, `run ${run.id} belongs to another agent`, { agentId: token.agentId, runId: run.id });
    }
    return { run, token };
  }

  /**
   * Run id → its agent, for the runs seen here: a run never changes owner, and SubmitSamples
   * checks it on every call (reading the whole run each time was a fifth of a call's cost).
   */
  const runOwners = new Map<string, string>();
  const MAX_RUN_OWNERS = 100_000;

  /** Authenticates and checks that the run exists and belongs to the caller, from the owner cache when it can. */
  async function ownRunId(
    method: string,
    call: ServerUnaryCall<unknown, unknown>,
    runId: string,
  ): Promise<{ agentId: string; token: TokenRecord | undefined } | ServiceError> {
    const known = runOwners.get(runId);
    if (known === undefined) {
      const owned = await ownRun(method, call, runId);
      if (isServiceError(owned)) return owned;
      if (runOwners.size >= MAX_RUN_OWNERS) runOwners.delete(runOwners.keys().next().value as string);
      runOwners.set(owned.run.id, owned.run.agentId);
      return { agentId: owned.run.agentId, token: owned.token };
    }
    const token = await authenticate(method, call, { runId: runId.slice(0, 128) });
    if (isServiceError(token)) return token;
    if (token !== undefined && token.agentId !== known) {
      return reject(method, GrpcStatus.PERMISSION_DENIED, `run ${runId} belongs to another agent`, { agentId: token.agentId, runId });
    }
    return { agentId: known, token };
  }

  /** The agent record with the platform the operator pinned on the token, when it differs. */
  async function pinPlatform(agent: AgentRecord, token: TokenRecord | undefined): Promise<AgentRecord> {
    if (token === undefined || token.platform === '' || (agent.platform === token.platform && agent.declaredPlatform === token.platform)) return agent;
    const pinned = { ...agent, declaredPlatform: token.platform, platform: token.platform };
    await store.upsertAgent(pinned);
    return pinned;
  }

  return {
    enroll: unary<EnrollRequest, EnrollResponse>(ctx, 'Enroll', async (req, call) => {
      const token = await caller('Enroll', call, req.agentId);
      if (isServiceError(token)) return token;
      const parsed = parseEnroll(req, Date.now());
      if (!parsed.ok) return reject('Enroll', GrpcStatus.INVALID_ARGUMENT, parsed.error, { agentId: req.agentId.slice(0, 128) });
      let agent = parsed.value;
      if (token !== undefined) {
        // An agent id belongs to one token: refused means nothing is changed (agent, token, runs).
        const binding = await store.bindToken(token.id, agent.id);
        if (binding.outcome === 'token-bound-elsewhere') {
          return reject(
            'Enroll',
            GrpcStatus.PERMISSION_DENIED,
            `token ${token.id} (${token.name}) is bound to agent ${binding.agentId}; create another token for agent ${agent.id}`,
            { agentId: agent.id },
          );
        }
        if (binding.outcome === 'agent-taken') {
          return reject(
            'Enroll',
            GrpcStatus.PERMISSION_DENIED,
            `agent id ${agent.id} belongs to another token; only an operator can move it (\`guestbench-collector token revoke\` the other token, or \`token rebind ${token.id} --agent ${agent.id}\`)`,
            { agentId: agent.id, detail: `held by token ${binding.tokenId}, enrollment tried with token ${token.id} (${token.name})` },
          );
        }
        // A platform the operator declared on the token wins over the agent's own claim.
        if (token.platform !== '') agent = { ...agent, declaredPlatform: token.platform, platform: token.platform };
      }
      await store.upsertAgent(agent);
      await presence.seen(agent.id, { platform: agent.platform });
      log.info(
        {
          event: 'agent-enrolled',
          agentId: agent.id,
          hostname: agent.hostname,
          platform: agent.platform,
          detectedPlatform: agent.detectedPlatform,
          agentVersion: agent.agentVersion,
        },
        'agent enrolled',
      );
      metrics?.enrollments.inc();
      return { agentId: agent.id, collectorVersion: COLLECTOR_VERSION, heartbeatIntervalMs: options.heartbeatIntervalMs ?? 5000, netSink: options.netSink };
    }),

    startRun: unary<StartRunRequest, StartRunResponse>(ctx, 'StartRun', async (req, call) => {
      const token = await caller('StartRun', call, req.agentId);
      if (isServiceError(token)) return token;
      const parsed = parseStartRun(req, Date.now());
      if (!parsed.ok) return reject('StartRun', GrpcStatus.INVALID_ARGUMENT, parsed.error, { agentId: req.agentId.slice(0, 128) });
      const enrolled = await store.getAgent(parsed.value.agentId);
      if (enrolled === undefined) {
        return reject('StartRun', GrpcStatus.FAILED_PRECONDITION, `agent ${parsed.value.agentId} has not enrolled; call Enroll first`, {
          agentId: parsed.value.agentId,
        });
      }
      const existing = await store.getRun(parsed.value.id);
      if (existing !== undefined && existing.agentId !== enrolled.id) {
        return reject('StartRun', GrpcStatus.PERMISSION_DENIED, `run ${existing.id} belongs to another agent`, { agentId: enrolled.id, runId: existing.id });
      }
      // The run takes its platform from the agent record: make sure it is the pinned one.
      const agent = existing === undefined ? await pinPlatform(enrolled, token) : enrolled;
      const run = await store.startRun(parsed.value);
      await presence.seen(agent.id, { platform: agent.platform, runId: run.id });
      if (existing === undefined) {
        log.info(
          {
            event: 'run-started',
            agentId: run.agentId,
            runId: run.id,
            platform: run.platform,
            label: run.label,
            profile: run.profile,
            jobId: run.jobId || undefined,
          },
          'run started',
        );
        metrics?.runsStarted.inc();
      }
      return { runId: run.id };
    }),

    submitSamples: unary<SubmitSamplesRequest, SubmitSamplesResponse>(ctx, 'SubmitSamples', async (req, call) => {
      const owned = await ownRunId('SubmitSamples', call, req.runId);
      if (isServiceError(owned)) return owned;
      const run = { id: req.runId, agentId: owned.agentId };
      const parsed = parseSamples(req.runId, req.samples);
      if (!parsed.ok) return reject('SubmitSamples', GrpcStatus.INVALID_ARGUMENT, parsed.error, { agentId: run.agentId, runId: run.id });
      // Written with the calls that arrive together, in one transaction (group commit), after
      // one check for the whole group that no sample id belongs to another run.
      const outcome = await committer.insert(run.id, parsed.value);
      if (!outcome.ok) {
        return reject('SubmitSamples', GrpcStatus.INVALID_ARGUMENT, `sample ids already belong to another run: ${outcome.elsewhere.slice(0, 5).join(', ')}`, {
          agentId: run.agentId,
          runId: run.id,
        });
      }
      const { acked, inserted } = outcome.result;
      await presence.seen(run.agentId);
      metrics?.samplesIngested.inc(inserted);
      log.debug({ event: 'samples-stored', agentId: run.agentId, runId: run.id, count: acked.length, new: inserted }, 'samples stored');
      return { ackedSampleIds: acked };
    }),

    endRun: unary<EndRunRequest, EndRunResponse>(ctx, 'EndRun', async (req, call) => {
      const owned = await ownRun('EndRun', call, req.runId);
      if (isServiceError(owned)) return owned;
      const before = owned.run;
      const parsed = parseEndRun(req, Date.now());
      if (!parsed.ok) return reject('EndRun', GrpcStatus.INVALID_ARGUMENT, parsed.error, { agentId: before.agentId, runId: before.id });
      const { runId, end, sampleCount } = parsed.value;
      const run = await store.endRun(runId, end);
      if (run === undefined) return reject('EndRun', GrpcStatus.NOT_FOUND, `run ${runId} does not exist`, { runId });
      await presence.seen(run.agentId, { runId: '' });
      if (before.status === 'running' || (before.status === 'lost' && run.status !== 'lost')) {
        const level = run.status === 'completed' ? 'info' : 'warn';
        log[level](
          {
            event: 'run-ended',
            agentId: run.agentId,
            runId: run.id,
            status: run.status,
            samples: run.sampleCount,
            samplesReported: sampleCount,
            error: run.error || undefined,
            failedBenchmarks: run.failedBenchmarks.length > 0 ? run.failedBenchmarks.map((f) => f.benchmarkId) : undefined,
          },
          'run ended',
        );
        metrics?.runsEnded.inc({ status: run.status });
      }
      return { status: statusToWire(run.status), storedSampleCount: run.sampleCount };
    }),

    heartbeat: unary<HeartbeatRequest, HeartbeatResponse>(ctx, 'Heartbeat', async (req, call) => {
      const token = await caller('Heartbeat', call, req.agentId);
      if (isServiceError(token)) return token;
      if (req.agentId === '' || req.agentId.length > 128)
        return reject('Heartbeat', GrpcStatus.INVALID_ARGUMENT, 'agent_id: required, at most 128 characters', {});
      const agent = await store.getAgent(req.agentId);
      if (agent === undefined)
        return reject('Heartbeat', GrpcStatus.FAILED_PRECONDITION, `agent ${req.agentId} has not enrolled; call Enroll first`, { agentId: req.agentId });
      if (req.runId !== '') {
        const run = await store.getRun(req.runId);
        if (run === undefined) return reject('Heartbeat', GrpcStatus.NOT_FOUND, `run ${req.runId.slice(0, 128)} does not exist`, { agentId: req.agentId });
        if (run.agentId !== agent.id)
          return reject('Heartbeat', GrpcStatus.PERMISSION_DENIED, `run ${run.id} belongs to another agent`, { agentId: agent.id, runId: run.id });
        // Guest time is the clock check's (see ClockCheck); 0 means an agent that does not send it.
        const guest = req.guestMonotonicMs;
        if (!(guest >= 0 && guest <= MAX_GUEST_MONOTONIC_MS)) {
          return reject('Heartbeat', GrpcStatus.INVALID_ARGUMENT, `guest_monotonic_ms: milliseconds from 0 (not sent) to 1e15, got ${String(guest)}`, {
            agentId: agent.id,
            runId: run.id,
          });
        }
        await store.recordHeartbeat(run.id, Date.now(), guest > 0 ? guest : undefined);
      }
      await presence.seen(agent.id, { platform: agent.platform, runId: req.runId, takesJobs: req.takesJobs });
      return {};
    }),

    sendLogs: unary<SendLogsRequest, SendLogsResponse>(ctx, 'SendLogs', async (req, call) => {
      const token = await caller('SendLogs', call, req.agentId);
      if (isServiceError(token)) return token;
      const parsed = parseLogs(req.agentId, req.runId, req.lines);
      if (!parsed.ok) return reject('SendLogs', GrpcStatus.INVALID_ARGUMENT, parsed.error, { agentId: req.agentId.slice(0, 128) });
      if (req.runId !== '') {
        const run = await store.getRun(req.runId);
        if (run === undefined) return reject('SendLogs', GrpcStatus.NOT_FOUND, `run ${req.runId} does not exist`, { agentId: req.agentId });
        if (run.agentId !== req.agentId)
          return reject('SendLogs', GrpcStatus.PERMISSION_DENIED, `run ${run.id} belongs to another agent`, { agentId: req.agentId, runId: run.id });
      }
      const stored = await store.insertLogs(parsed.value);
      // Re-emit each line in the collector's own log, so one place shows every guest.
      // The guest's own fields stay under agentFields: they can never stand in for the
      // collector's keys (event, agentId, runId, level, …), which come from the authenticated call.
      const agentLog = options.logger.child({ component: 'agent', agentId: req.agentId, ...(req.runId !== '' ? { runId: req.runId } : {}) });
      for (const line of parsed.value) {
        const level = line.level as 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';
        agentLog[level]({ event: 'agent-log', agentFields: JSON.parse(line.fieldsJson) as object, agentTime: line.timeMs }, line.message);
      }
      await presence.seen(req.agentId);
      return { stored };
    }),

    waitForJob: unary<WaitForJobRequest, WaitForJobResponse>(ctx, 'WaitForJob', async (req, call: ServerUnaryCall<WaitForJobRequest, WaitForJobResponse>) => {
      const token = await caller('WaitForJob', call, req.agentId);
      if (isServiceError(token)) return token;
      if (req.waitMs > MAX_WAIT_MS)
        return reject('WaitForJob', GrpcStatus.INVALID_ARGUMENT, `wait_ms: at most ${MAX_WAIT_MS}, got ${req.waitMs}`, { agentId: req.agentId.slice(0, 128) });
      const agent = await store.getAgent(req.agentId);
      if (agent === undefined)
        return reject('WaitForJob', GrpcStatus.FAILED_PRECONDITION, `agent ${req.agentId.slice(0, 128)} has not enrolled; call Enroll first`, {
          agentId: req.agentId.slice(0, 128),
        });
      // Written when it changed or is getting old: a job created anywhere from now on must find this agent idle.
      await presence.seen(agent.id, { platform: agent.platform, takesJobs: true, runId: '' });
      const aborted = new AbortController();
      call.on('cancelled', () => {
        aborted.abort();
        log.debug({ event: 'job-wait-cancelled', agentId: agent.id }, 'job wait cancelled by the agent');
      });
      log.debug({ event: 'job-wait-started', agentId: agent.id, waitMs: req.waitMs }, 'agent waits for a job');
      const taken = await options.jobs.waitFor(agent.id, req.waitMs, aborted.signal);
      const job = taken?.job;
      // An agent that cancelled its wait (stopping, or moving to another collector) no longer
      // waits here: no job may be assigned to it until it asks again.
      await presence.seen(agent.id, { takesJobs: !(aborted.signal.aborted || call.cancelled) });
      if (taken !== undefined && (aborted.signal.aborted || call.cancelled)) {
        // The agent went away (or moved to another collector) as the job was taken: give it back.
        await options.jobs.giveBack(agent.id, taken);
        return {};
      }
      if (job === undefined && options.jobs.isClosed)
        log.info({ event: 'job-wait-ended', agentId: agent.id, reason: 'collector stopping' }, 'job wait ended: the agent reconnects');
      if (job === undefined) return {};
      log.info({ event: 'job-taken', agentId: agent.id, jobId: job.id, profile: job.profile, label: job.label }, 'job handed to agent');
      return { job: { id: job.id, profile: job.profile, label: job.label, platform: job.platform, createdAtMs: job.createdAtMs } };
    }),
  };
}
