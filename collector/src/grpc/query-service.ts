// Read-only gRPC queries: list runs, get a run with its samples, compare against a baseline.
import { status as GrpcStatus, type ServiceError } from '@grpc/grpc-js';
import type { CompareRequest, CompareResponse, GetRunRequest, GetRunResponse, ListRunsRequest, ListRunsResponse, QueryServiceServer } from '@guestbench/proto';
import { compare } from '../compare/compare';
import type { Logger } from '../log';
import type { CollectorMetrics } from '../metrics/metrics';
import { parseGroupList, parseGroupSpecStrict } from '../query/parse-query';
import type { Store } from '../store/store';
import { compareToWire, runToWire, sampleToWire } from './to-wire';
import { grpcError, unary } from './unary';

export function createQueryService(options: { store: Store; logger: Logger; metrics?: CollectorMetrics }): QueryServiceServer {
  const { store, metrics } = options;
  const log = options.logger.child({ component: 'query-service' });
  const ctx = { log, metrics };

  function refuse(method: string, code: GrpcStatus, message: string): ServiceError {
    log.warn({ event: 'request-rejected', method, code: GrpcStatus[code], reason: message }, 'request rejected');
    metrics?.rejected.inc({ api: 'grpc', method, code: GrpcStatus[code] });
    return grpcError(code, message);
  }

  return {
    listRuns: unary<ListRunsRequest, ListRunsResponse>(ctx, 'ListRuns', async (req) => {
      if (req.limit > 10_000) return refuse('ListRuns', GrpcStatus.INVALID_ARGUMENT, `limit: at most 10000, got ${req.limit}`);
      const runs = await store.listRuns({
        platform: req.platform || undefined,
        label: req.label || undefined,
        hostname: req.hostname || undefined,
        limit: req.limit > 0 ? req.limit : 1000,
      });
      return { runs: runs.map(runToWire) };
    }),
    getRun: unary<GetRunRequest, GetRunResponse>(ctx, 'GetRun', async (req) => {
      if (req.runId === '') return refuse('GetRun', GrpcStatus.INVALID_ARGUMENT, 'run_id: required');
      const run = await store.getRun(req.runId);
      if (run === undefined) return refuse('GetRun', GrpcStatus.NOT_FOUND, `run ${req.runId.slice(0, 128)} does not exist`);
      return { run: runToWire(run), samples: (await store.getSamples([run.id])).map(sampleToWire) };
    }),
    compare: unary<CompareRequest, CompareResponse>(ctx, 'Compare', async (req) => {
      const baseline = parseGroupSpecStrict(req.baseline === '' ? 'native' : req.baseline, 'baseline');
      if (!baseline.ok) return refuse('Compare', GrpcStatus.INVALID_ARGUMENT, baseline.error);
      const groups = parseGroupList(req.groups, 'groups');
      if (!groups.ok) return refuse('Compare', GrpcStatus.INVALID_ARGUMENT, groups.error);
      return compareToWire(await compare(store, { baseline: baseline.value, groups: groups.value }));
    }),
  };
}
