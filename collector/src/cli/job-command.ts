// `guestbench-collector job create|list|show`: operators' client of the JobService.
import { credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import { JobServiceClient, type JobInfo } from '@guestbench/proto';
import fs from 'node:fs';
import { textTable } from '../report/text-table';
import type { Command } from './parse-arguments';

type JobCommand = Extract<Command, { kind: 'job-create' | 'job-list' | 'job-show' }>;

function call<Res>(client: JobServiceClient, token: string | undefined, method: 'createJob' | 'listJobs' | 'getJob', req: object): Promise<Res> {
  return new Promise((resolve, reject) => {
    const fn = client[method] as unknown as (r: object, m: Metadata, o: { deadline: Date }, cb: (e: ServiceError | null, res: Res) => void) => void;
    const metadata = new Metadata();
    if (token !== undefined) metadata.set('authorization', `Bearer ${token}`);
    fn.call(client, req, metadata, { deadline: new Date(Date.now() + 10_000) }, (err, res) => (err ? reject(err) : resolve(res)));
  });
}

function when(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, 'Z');
}

export function formatJob(info: JobInfo): string {
  const job = info.job;
  const head = `job ${job?.id ?? '?'} · ${info.state} · platform ${job?.platform || 'any'} · profile ${job?.profile ?? ''}${job?.label ? ` · label ${job.label}` : ''} · created ${when(job?.createdAtMs ?? 0)}`;
  const rows = info.assignments.map((a) => [a.agentId, a.state, a.runId || '-', String(a.samples)]);
  return `${head}\n${textTable(['agent', 'state', 'run', 'samples'], rows, new Set([3]))}`;
}

export async function jobCommand(cmd: JobCommand): Promise<number> {
  const creds = cmd.ca !== undefined ? credentials.createSsl(fs.readFileSync(cmd.ca)) : credentials.createInsecure();
  const client = new JobServiceClient(cmd.collector, creds);
  try {
    let out: unknown;
    let text: string;
    if (cmd.kind === 'job-create') {
      const res = await call<{ job?: JobInfo }>(client, cmd.token, 'createJob', {
        platform: cmd.platform === 'any' ? '' : cmd.platform,
        profile: cmd.profile,
        label: cmd.label,
      });
      out = res.job;
      text = res.job === undefined ? '' : formatJob(res.job);
    } else if (cmd.kind === 'job-show') {
      const res = await call<{ job?: JobInfo }>(client, cmd.token, 'getJob', { jobId: cmd.id });
      out = res.job;
      text = res.job === undefined ? '' : formatJob(res.job);
    } else {
      const res = await call<{ jobs: JobInfo[] }>(client, cmd.token, 'listJobs', { limit: 100 });
      out = res.jobs;
      text = res.jobs.length === 0 ? 'no jobs' : res.jobs.map(formatJob).join('\n\n');
    }
    process.stdout.write(cmd.json ? `${JSON.stringify(out, null, 2)}\n` : `${text}\n`);
    return 0;
  } catch (err: unknown) {
    const e = err as ServiceError;
    throw new Error(`${cmd.kind.replace('-', ' ')} at ${cmd.collector}: ${e.details || e.message}`, { cause: err });
  } finally {
    client.close();
  }
}
