// Operators' gRPC service: ask connected daemon agents for a run, list jobs, follow one.
import { status as GrpcStatus, type ServiceError } from '@grpc/grpc-js';
import type {
  CreateJobRequest,
  CreateJobResponse,
  GetJobRequest,
  GetJobResponse,
  JobInfo,
  JobServiceServer,
  ListJobsRequest,
  ListJobsResponse,
  RecordRunConfigurationRequest,
  RecordRunConfigurationResponse,
} from '@guestbench/proto';
import type { Authenticator } from '../auth/authenticator';
import { isNoAgentsError, type JobBroker } from '../jobs/job-broker';
import { parseJobRequest } from '../jobs/parse-job-request';
import { groupKey } from '../model';
import { parseRunConfiguration } from './parse-run-configuration';
import type { Logger } from '../log';
import type { CollectorMetrics } from '../metrics/metrics';
import type { JobView } from '../model';
import type { Store } from '../store/store';
import { grpcError, unary } from './unary';

export function jobToWire(v: JobView): JobInfo {
  return {
    job: { id: v.job.id, platform: v.job.platform, profile: v.job.profile, label: v.job.label, createdAtMs: v.job.createdAtMs },
    state: v.state,
    assignments: v.assignments.map((a) => ({ agentId: a.agentId, runId: a.runId, state: a.state, samples: a.samples })),
  };
}

export function createJobService(options: {
  store: Store;
  jobs: JobBroker;
  auth: Authenticator;
  logger: Logger;
  metrics?: CollectorMetrics;
}): JobServiceServer {
  const log = options.logger.child({ component: 'job-service' });
  const ctx = { log, metrics: options.metrics };
  function refuse(method: string, code: GrpcStatus, message: string, detail?: string): ServiceError {
    log.warn({ event: 'request-rejected', method, code: GrpcStatus[code], reason: message, detail }, 'request rejected');
    options.metrics?.rejected.inc({ api: 'grpc', method, code: GrpcStatus[code] });
    return grpcError(code, message);
  }
  return {
    createJob: unary<CreateJobRequest, CreateJobResponse>(ctx, 'CreateJob', async (req, call) => {
      const auth = await options.auth.checkMetadata(call.metadata, 'operator');
      if (!auth.ok) return refuse('CreateJob', GrpcStatus.UNAUTHENTICATED, auth.reason, auth.detail);
      const parsed = parseJobRequest(req);
      if (!parsed.ok) return refuse('CreateJob', GrpcStatus.INVALID_ARGUMENT, parsed.error);
      try {
        const view = await options.jobs.create(parsed.value);
        log.info(
          {
            event: 'job-created',
            jobId: view.job.id,
            platform: view.job.platform || 'any',
            profile: view.job.profile,
            agents: view.assignments.map((a) => a.agentId),
          },
          'job created',
        );
        return { job: jobToWire(view) };
      } catch (err: unknown) {
        if (isNoAgentsError(err)) return refuse('CreateJob', GrpcStatus.FAILED_PRECONDITION, err.message);
        throw err;
      }
    }),
    listJobs: unary<ListJobsRequest, ListJobsResponse>(ctx, 'ListJobs', async (req) => {
      if (req.limit > 1000) return refuse('ListJobs', GrpcStatus.INVALID_ARGUMENT, `limit: at most 1000, got ${req.limit}`);
      return { jobs: (await options.store.listJobs(req.limit > 0 ? req.limit : 100)).map(jobToWire) };
    }),
    getJob: unary<GetJobRequest, GetJobResponse>(ctx, 'GetJob', async (req) => {
      if (req.jobId === '' || req.jobId.length > 128) return refuse('GetJob', GrpcStatus.INVALID_ARGUMENT, 'job_id: required, at most 128 characters');
      const view = await options.store.getJob(req.jobId);
      if (view === undefined) return refuse('GetJob', GrpcStatus.NOT_FOUND, `job ${req.jobId} does not exist`);
      return { job: jobToWire(view) };
    }),
    recordRunConfiguration: unary<RecordRunConfigurationRequest, RecordRunConfigurationResponse>(ctx, 'RecordRunConfiguration', async (req, call) => {
      const auth = await options.auth.checkMetadata(call.metadata, 'operator');
      if (!auth.ok) return refuse('RecordRunConfiguration', GrpcStatus.UNAUTHENTICATED, auth.reason);
      const parsed = parseRunConfiguration(req);
      if (!parsed.ok) return refuse('RecordRunConfiguration', GrpcStatus.INVALID_ARGUMENT, parsed.error);
      const run = await options.store.getRun(parsed.value.runId);
      if (run === undefined) return refuse('RecordRunConfiguration', GrpcStatus.NOT_FOUND, `run ${parsed.value.runId.slice(0, 128)} does not exist`);
      await options.store.putRunConfiguration({ ...parsed.value, recordedAtMs: Date.now() });
      const group = groupKey(run.platform, run.label);
      log.info(
        { event: 'run-configuration-recorded', runId: run.id, group, settings: parsed.value.settings, accelerator: parsed.value.accelerator },
        'run configuration recorded',
      );
      return { group };
    }),
  };
}
