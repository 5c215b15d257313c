// Raw AgentService calls with a chosen token, for tests that act as an agent or an attacker.
import { credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import { AgentServiceClient, Direction, type Sample } from '@guestbench/proto';

export function agentClient(address: string): AgentServiceClient {
  return new AgentServiceClient(address, credentials.createInsecure());
}

export function call<Res>(c: AgentServiceClient, method: string, req: object, token?: string): Promise<Res> {
  const md = new Metadata();
  if (token !== undefined) md.set('authorization', `Bearer ${token}`);
  return new Promise((resolve, reject) => {
    (c as unknown as Record<string, (r: object, m: Metadata, cb: (e: ServiceError | null, res: Res) => void) => void>)[method]!.call(c, req, md, (e, r) =>
      e ? reject(e) : resolve(r),
    );
  });
}

export const enrollReq = (agentId: string, over: { hostname?: string; declaredPlatform?: string } = {}) => ({
  agentId,
  hostname: over.hostname ?? 'g',
  declaredPlatform: over.declaredPlatform ?? '',
  agentVersion: '0.1.0',
  detected: { platform: 'kvm', evidence: [] },
});

export const startReq = (agentId: string, runId: string) => ({
  runId,
  agentId,
  profile: 'smoke',
  label: '',
  agentVersion: '0.1.0',
  startedAtMs: Date.now(),
  jobId: '',
});

export function sampleFor(runId: string, over: Partial<Sample> = {}): Sample {
  return {
    id: `${runId}:cpu.int32:throughput`,
    benchmarkId: 'cpu.int32',
    metric: 'throughput',
    unit: 'Mops/s',
    direction: Direction.DIRECTION_HIGHER_IS_BETTER,
    value: 1,
    trials: [1, 1, 1],
    trialCount: 3,
    rsd: 0,
    stealFraction: 0,
    parameters: {},
    primary: true,
    clocksource: '',
    durationSeconds: 1,
    finishedAtMs: 1,
    flags: [],
    ...over,
  };
}
