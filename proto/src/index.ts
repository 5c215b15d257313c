// The guestbench v1 protocol: message types, codecs and grpc-js service definitions,
// generated from guestbench/v1/*.proto (regenerate with `npm run gen -w proto`).
import path from 'node:path';
export {
  Direction,
  directionFromJSON,
  directionToJSON,
  Evidence,
  FailedBenchmark,
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
  Job,
  LogLine,
  SendLogsRequest,
  SendLogsResponse,
  WaitForJobRequest,
  WaitForJobResponse,
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
export {
  CreateJobRequest,
  CreateJobResponse,
  GetJobRequest,
  GetJobResponse,
  JobAssignment,
  JobInfo,
  JobServiceClient,
  JobServiceService,
  ListJobsRequest,
  ListJobsResponse,
  RecordRunConfigurationRequest,
  RecordRunConfigurationResponse,
} from './gen/guestbench/v1/job';
export type { JobServiceServer } from './gen/guestbench/v1/job';

/** Directory holding the .proto sources, for server reflection and generic tooling. */
export const protoRoot: string = path.resolve(__dirname, '..');
export {
  BENCHMARK_ID_PATTERN,
  ID_PATTERN,
  LABEL_PATTERN,
  MAX_PARAMETERS,
  MAX_SAMPLES_PER_MESSAGE,
  MAX_TRIALS,
  MAX_UNIT_LENGTH,
  METRIC_PATTERN,
} from './limits';
export {
  categoryOf,
  formatHostPort,
  groupKey,
  isPlatform,
  isProfileName,
  isUnspecifiedHost,
  parseGroupKey,
  parseHostPort,
  parseId,
  parseLabel,
  parsePlatform,
  parseProfileName,
  parseSampleId,
  PLATFORMS,
  PROFILE_NAMES,
  quoted,
  sampleId,
  splitGroupKey,
} from './vocabulary';
export type { HostPort, HostPortOptions, Parsed, Platform, ProfileName } from './vocabulary';
export { decodeSinkReply, encodeSinkReply, MODE_ECHO, MODE_ONE_SHOT, MODE_SINK, SINK_REPLY_BYTES } from './sink/protocol';
export { startSinkServer } from './sink/sink-server';
export { directionToWire, sampleToWire } from './wire';
export type { SampleFields } from './wire';
export type { SinkServer, SinkServerOptions } from './sink/sink-server';
export { argumentErrorMessage, commandHelp, isUsageError, runCommandLine, usageFailureText, UsageError } from './cli-text';
export type { CommandLineProgram, HelpOrVersion } from './cli-text';
export { formatProfileSpec, MAX_PROFILE_SPEC_LENGTH, parseBenchmarkList, parseProfileSpec, parseSettingOverride } from './profile-spec';
export type { ParsedSpec, ProfileSpec, SpecOverride } from './profile-spec';
export { fileDescriptorProtos } from './descriptors';
