// Read-only gRPC queries: list runs, get a run with its samples, compare against a baseline.
import { status as GrpcStatus, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js';
import type {
  CompareRequest,
  CompareResponse,
  GetRunRequest,
  GetRunResponse,
  ListRunsRequest,
  ListRunsResponse,
  QueryServiceServer,
} from '@guestbench/proto';
import { compare } from '../compare/compare';
import type { Logger } from '../log';
import type { Store } from '../store/store';
import { grpcError } from './agent-service';
import { compareToWire, runToWire, sampleToWire } from './to-wire';
import { parseGroupList, parseGroupSpecStrict } from '../query/parse-query';

export function createQueryService(options: { store: Store; logger: Logger }): QueryServiceServer {
  const { store } = options;
  const log = options.logger.child({ component: 'query-service' });

  function handle<Req, Res>(method: string, fn: (req: Req) => Promise<Res | Error>) {
    return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>): void => {
      fn(call.request).then(
        (res) => (res instanceof Error ? callback(res) : callback(null, res)),
        (err: unknown) => {
          log.error({ err, method }, 'query failed');
          callback(grpcError(GrpcStatus.INTERNAL, `${method} failed inside the collector; see its log`));
        },
      );
    };
  }

  function invalid(method: string, message: string): Error {
    log.warn({ event: 'request-rejected', method, reason: message }, 'request rejected');
    return grpcError(GrpcStatus.INVALID_ARGUMENT, message);
  }

  return {
    listRuns: handle<ListRunsRequest, ListRunsResponse>('ListRuns', async (req) => {
      if (req.limit > 10_000) return invalid('ListRuns', `limit: at most 10000, got ${req.limit}`);
      const runs = await store.listRuns({
        platform: req.platform || undefined,
        label: req.label || undefined,
        hostname: req.hostname || undefined,
        limit: req.limit > 0 ? req.limit : 1000,
      });
      return { runs: runs.map(runToWire) };
    }),
    getRun: handle<GetRunRequest, GetRunResponse>('GetRun', async (req) => {
      if (req.runId === '') return invalid('GetRun', 'run_id: required');
      const run = await store.getRun(req.runId);
      if (run === undefined) {
        log.info({ event: 'request-rejected', method: 'GetRun', runId: req.runId.slice(0, 128), reason: 'not found' }, 'request rejected');
        return grpcError(GrpcStatus.NOT_FOUND, `run ${req.runId.slice(0, 128)} does not exist`);
      }
      return { run: runToWire(run), samples: (await store.getSamples([run.id])).map(sampleToWire) };
    }),
    compare: handle<CompareRequest, CompareResponse>('Compare', async (req) => {
      const baseline = parseGroupSpecStrict(req.baseline === '' ? 'native' : req.baseline, 'baseline');
      if (!baseline.ok) return invalid('Compare', baseline.error);
      const groups = parseGroupList(req.groups, 'groups');
      if (!groups.ok) return invalid('Compare', groups.error);
      return compareToWire(await compare(store, { baseline: baseline.value, groups: groups.value }));
    }),
  };
}
