// The lab's calls to the collector over gRPC: find the run a guest (or a native agent) started
// under its label, and record the configuration it ran with (an operator call).
import { credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import { JobServiceClient, QueryServiceClient, runStatusToJSON, type RecordRunConfigurationRequest, type Run } from '@guestbench/proto';

export interface LabRun {
  readonly id: string;
  readonly platform: string;
  readonly label: string;
  /** running, completed, failed, lost, cancelled */
  readonly status: string;
  readonly startedAtMs: number;
  readonly error: string;
}

export class CollectorCallError extends Error {
  constructor(
    message: string,
    readonly code: number | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'CollectorCallError';
  }
}

function toLabRun(r: Run): LabRun {
  return {
    id: r.id,
    platform: r.platform,
    label: r.label,
    status: runStatusToJSON(r.status)
      .replace(/^RUN_STATUS_/, '')
      .toLowerCase(),
    startedAtMs: Number(r.startedAtMs),
    error: r.error,
  };
}

export class CollectorClient {
  private readonly query: QueryServiceClient;
  private readonly jobs: JobServiceClient;

  /** `address` is the collector's gRPC HOST:PORT as this host reaches it. */
  constructor(
    readonly address: string,
    private readonly operatorToken: string | undefined,
  ) {
    this.query = new QueryServiceClient(address, credentials.createInsecure());
    this.jobs = new JobServiceClient(address, credentials.createInsecure());
  }

  private metadata(): Metadata {
    const m = new Metadata();
    if (this.operatorToken !== undefined) m.set('authorization', `Bearer ${this.operatorToken}`);
    return m;
  }

  private call<Req, Res>(
    what: string,
    fn: (req: Req, md: Metadata, opts: { deadline: Date }, cb: (err: ServiceError | null, res: Res) => void) => unknown,
    req: Req,
  ): Promise<Res> {
    return new Promise((resolve, reject) => {
      fn(req, this.metadata(), { deadline: new Date(Date.now() + 15_000) }, (err, res) => {
        if (err !== null) reject(new CollectorCallError(`${what} at ${this.address}: ${err.details || err.message}`, err.code, { cause: err }));
        else resolve(res);
      });
    });
  }

  /** Runs with this label (any platform), newest first. */
  async runsLabelled(label: string, platform = ''): Promise<LabRun[]> {
    const res = await this.call('ListRuns', this.query.listRuns.bind(this.query), { platform, label, hostname: '', limit: 1000 });
    return res.runs.map(toLabRun);
  }

  async recordRunConfiguration(req: RecordRunConfigurationRequest): Promise<string> {
    const res = await this.call('RecordRunConfiguration', this.jobs.recordRunConfiguration.bind(this.jobs), req);
    return res.group;
  }

  close(): void {
    this.query.close();
    this.jobs.close();
  }
}
