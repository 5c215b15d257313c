// The guestbench v1 protocol: message types, codecs and grpc-js service definitions,
// generated from guestbench/v1/*.proto (regenerate with `npm run gen -w proto`).
export {
  Direction,
  directionFromJSON,
  directionToJSON,
  Evidence,
  Inventory,
  PlatformDetection,
  Run,
  RunStatus,
  runStatusFromJSON,
  runStatusToJSON,
  Sample,
} from './gen/guestbench/v1/common';
export {
  AgentServiceClient,
  AgentServiceService,
  EndRunRequest,
  EndRunResponse,
  EnrollRequest,
  EnrollResponse,
  HeartbeatRequest,
  HeartbeatResponse,
  StartRunRequest,
  StartRunResponse,
  SubmitSamplesRequest,
  SubmitSamplesResponse,
} from './gen/guestbench/v1/agent';
export type { AgentServiceServer } from './gen/guestbench/v1/agent';
export {
  BenchmarkComparison,
  CategorySummary,
  CompareRequest,
  CompareResponse,
  GetRunRequest,
  GetRunResponse,
  GroupComparison,
  ListRunsRequest,
  ListRunsResponse,
  QueryServiceClient,
  QueryServiceService,
} from './gen/guestbench/v1/query';
export type { QueryServiceServer } from './gen/guestbench/v1/query';

/** Directory holding the .proto sources, for server reflection and generic tooling. */
export const protoRoot: string = require('node:path').resolve(__dirname, '..');
