// The gRPC service agents talk to. Every request is parsed before anything is stored;
// a sample is acknowledged only after its transaction has committed.
import { status as GrpcStatus, type sendUnaryData, type ServerUnaryCall, type ServiceError, Metadata } from '@grpc/grpc-js';
import {
  type AgentServiceServer,
  type EndRunRequest,
  type EndRunResponse,
  type EnrollRequest,
  type EnrollResponse,
  type HeartbeatRequest,
  type HeartbeatResponse,
  type StartRunRequest,
  type StartRunResponse,
  type SubmitSamplesRequest,
  type SubmitSamplesResponse,
} from '@guestbench/proto';
import type { Logger } from '../log';
import type { Store } from '../store/store';
import { parseEndRun, parseEnroll, parseSamples, parseStartRun } from './parse-messages';
import { statusToWire } from './to-wire';

export const COLLECTOR_VERSION = '0.1.0';

export interface AgentServiceOptions {
  readonly store: Store;
  readonly logger: Logger;
  /** @default 5000 */
  readonly heartbeatIntervalMs?: number;
  /** Called after each stored change, for metrics and live views. */
  readonly onEvent?: (event: { type: 'enrolled' | 'run-started' | 'samples' | 'run-ended'; count?: number }) => void;
}

export function grpcError(code: GrpcStatus, message: string): ServiceError {
  const err = new Error(message) as ServiceError;
  err.code = code;
  err.details = message;
  err.metadata = new Metadata();
  return err;
}

/** Wraps a handler so a thrown error becomes INTERNAL with a log line, never a crash. */
function unary<Req, Res>(
  log: Logger,
  method: string,
  handler: (req: Req) => Promise<Res | ServiceError>,
): (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => void {
  return (call, callback) => {
    handler(call.request).then(
      (result) => {
        if (result instanceof Error) callback(result);
        else callback(null, result);
      },
      (err: unknown) => {
        log.error({ err, method }, 'request failed');
        callback(grpcError(GrpcStatus.INTERNAL, `${method} failed inside the collector; see its log`));
      },
    );
  };
}

export function createAgentService(options: AgentServiceOptions): AgentServiceServer {
  const { store } = options;
  const log = options.logger.child({ component: 'agent-service' });
  const emit = options.onEvent ?? (() => undefined);

  function reject(method: string, code: GrpcStatus, message: string, ids: { agentId?: string; runId?: string }): ServiceError {
    log.warn({ event: 'request-rejected', method, code: GrpcStatus[code], reason: message, ...ids }, 'request rejected');
    return grpcError(code, message);
  }

  return {
    enroll: unary<EnrollRequest, EnrollResponse>(log, 'Enroll', async (req) => {
      const parsed = parseEnroll(req, Date.now());
      if (!parsed.ok) return reject('Enroll', GrpcStatus.INVALID_ARGUMENT, parsed.error, { agentId: req.agentId.slice(0, 128) });
      const agent = parsed.value;
      await store.upsertAgent(agent);
      log.info(
        { event: 'agent-enrolled', agentId: agent.id, hostname: agent.hostname, platform: agent.platform, detectedPlatform: agent.detectedPlatform, agentVersion: agent.agentVersion },
        'agent enrolled',
      );
      emit({ type: 'enrolled' });
      return { agentId: agent.id, collectorVersion: COLLECTOR_VERSION, heartbeatIntervalMs: options.heartbeatIntervalMs ?? 5000 };
    }),

    startRun: unary<StartRunRequest, StartRunResponse>(log, 'StartRun', async (req) => {
      const parsed = parseStartRun(req, Date.now());
      if (!parsed.ok) return reject('StartRun', GrpcStatus.INVALID_ARGUMENT, parsed.error, { agentId: req.agentId.slice(0, 128) });
      const agent = await store.getAgent(parsed.value.agentId);
      if (agent === undefined) {
        return reject('StartRun', GrpcStatus.FAILED_PRECONDITION, `agent ${parsed.value.agentId} has not enrolled; call Enroll first`, { agentId: parsed.value.agentId });
      }
      const existing = await store.getRun(parsed.value.id);
      if (existing !== undefined && existing.agentId !== agent.id) {
        return reject('StartRun', GrpcStatus.PERMISSION_DENIED, `run ${existing.id} belongs to another agent`, { agentId: agent.id, runId: existing.id });
      }
      const run = await store.startRun(parsed.value);
      const rlog = log.child({ agentId: run.agentId, runId: run.id });
      if (existing === undefined) {
        rlog.info({ event: 'run-started', platform: run.platform, label: run.label, profile: run.profile }, 'run started');
        emit({ type: 'run-started' });
      }
      return { runId: run.id };
    }),

    submitSamples: unary<SubmitSamplesRequest, SubmitSamplesResponse>(log, 'SubmitSamples', async (req) => {
      const parsed = parseSamples(req.runId, req.samples);
      if (!parsed.ok) return reject('SubmitSamples', GrpcStatus.INVALID_ARGUMENT, parsed.error, { runId: req.runId.slice(0, 128) });
      const run = await store.getRun(req.runId);
      if (run === undefined) return reject('SubmitSamples', GrpcStatus.NOT_FOUND, `run ${req.runId} does not exist; call StartRun first`, { runId: req.runId });
      const elsewhere = await store.sampleIdsOwnedElsewhere(run.id, parsed.value.map((s) => s.id));
      if (elsewhere.length > 0) {
        return reject('SubmitSamples', GrpcStatus.INVALID_ARGUMENT, `sample ids already belong to another run: ${elsewhere.slice(0, 5).join(', ')}`, { agentId: run.agentId, runId: run.id });
      }
      const acked = await store.insertSamples(run.id, parsed.value);
      log.debug({ event: 'samples-stored', agentId: run.agentId, runId: run.id, count: acked.length }, 'samples stored');
      emit({ type: 'samples', count: acked.length });
      return { ackedSampleIds: acked };
    }),

    endRun: unary<EndRunRequest, EndRunResponse>(log, 'EndRun', async (req) => {
      const parsed = parseEndRun(req, Date.now());
      if (!parsed.ok) return reject('EndRun', GrpcStatus.INVALID_ARGUMENT, parsed.error, { runId: req.runId.slice(0, 128) });
      const { runId, end, sampleCount } = parsed.value;
      const before = await store.getRun(runId);
      if (before === undefined) return reject('EndRun', GrpcStatus.NOT_FOUND, `run ${runId} does not exist`, { runId });
      const run = await store.endRun(runId, end);
      if (run === undefined) return reject('EndRun', GrpcStatus.NOT_FOUND, `run ${runId} does not exist`, { runId });
      if (before.status === 'running') {
        const level = run.status === 'completed' ? 'info' : 'warn';
        log[level](
          { event: 'run-ended', agentId: run.agentId, runId: run.id, status: run.status, samples: run.sampleCount, samplesReported: sampleCount, error: run.error || undefined },
          'run ended',
        );
        emit({ type: 'run-ended' });
      }
      return { status: statusToWire(run.status), storedSampleCount: run.sampleCount };
    }),

    heartbeat: unary<HeartbeatRequest, HeartbeatResponse>(log, 'Heartbeat', async (req) => {
      if (req.runId !== '') {
        const run = await store.getRun(req.runId);
        if (run === undefined) return reject('Heartbeat', GrpcStatus.NOT_FOUND, `run ${req.runId.slice(0, 128)} does not exist`, { agentId: req.agentId.slice(0, 128) });
        await store.recordHeartbeat(run.id, Date.now());
      }
      return {};
    }),
  };
}

