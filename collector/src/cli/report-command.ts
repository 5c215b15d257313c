// `guestbench-collector report`: builds the report from a database (SQLite or PostgreSQL) or
// fetches it from a running collector, and writes it in the chosen format.
import fs from 'node:fs';
import { reportQueryParams } from '../query/parse-report-query';
import { buildReport, type ReportData } from '../report/build-report';
import { renderReport } from '../report/render-report';
import { describeDatabase, isPostgresUrl } from '../store/database-spec';
import { openStore } from '../store/open-store';
import type { Command } from './parse-arguments';

async function fetchReport(base: string, cmd: Extract<Command, { kind: 'report' }>): Promise<ReportData> {
  const u = new URL(`/api/v1/report?${reportQueryParams(cmd.query).toString()}`, base);
  let res: Response;
  try {
    res = await fetch(u);
  } catch (err: unknown) {
    throw new Error(`cannot reach the collector at ${base}: ${(err as Error).message}`, { cause: err });
  }
  const body = (await res.json().catch(() => ({ error: 'not JSON' }))) as ReportData | { error: string };
  if (!res.ok || 'error' in body) throw new Error(`collector at ${base} answered ${res.status}: ${'error' in body ? body.error : ''}`);
  return body;
}

async function readReport(spec: string, cmd: Extract<Command, { kind: 'report' }>): Promise<ReportData> {
  if (!isPostgresUrl(spec) && !fs.existsSync(spec)) {
    throw new Error(`no database at ${spec} (start a collector with \`guestbench-collector serve\`, or pass --db FILE or --db postgres://…)`);
  }
  const store = await openStore(spec);
  try {
    return await buildReport(store, cmd.query);
  } catch (err: unknown) {
    throw new Error(`cannot read the report from ${describeDatabase(spec)}: ${(err as Error).message}`, { cause: err });
  } finally {
    await store.close();
  }
}

export async function reportCommand(cmd: Extract<Command, { kind: 'report' }>): Promise<number> {
  const data = 'url' in cmd.source ? await fetchReport(cmd.source.url, cmd) : await readReport(cmd.source.db, cmd);
  const text = renderReport(data, cmd.format);
  if (cmd.out === undefined) {
    process.stdout.write(text);
  } else {
    fs.writeFileSync(cmd.out, text);
    process.stderr.write(`wrote ${cmd.format} report to ${cmd.out}\n`);
  }
  return 0;
}
