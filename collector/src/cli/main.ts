#!/usr/bin/env node
// guestbench-collector: serve the gRPC and HTTP APIs, or print the comparison.
import fs from 'node:fs';
import { compare, type CompareResult } from '../compare/compare';
import { startCollector } from '../collector';
import { createLogger } from '../log';
import { parseGroupList, parseGroupSpecStrict } from '../query/parse-query';
import { formatComparison } from '../report/format-comparison';
import { SqliteStore } from '../store/sqlite-store';
import { isUsageError, parseArguments, USAGE, type Command } from './parse-arguments';

async function report(cmd: Extract<Command, { kind: 'report' }>): Promise<number> {
  const baseline = parseGroupSpecStrict(cmd.baseline, '--baseline');
  if (!baseline.ok) throw new Error(baseline.error);
  const groups = parseGroupList(cmd.groups, '--groups');
  if (!groups.ok) throw new Error(groups.error);
  let result: CompareResult;
  if ('url' in cmd.source) {
    const u = new URL('/api/v1/compare', cmd.source.url);
    u.searchParams.set('baseline', baseline.value);
    if (groups.value.length > 0) u.searchParams.set('groups', groups.value.join(','));
    const res = await fetch(u);
    const body = (await res.json()) as CompareResult | { error: string };
    if (!res.ok) throw new Error(`collector at ${cmd.source.url} answered ${res.status}: ${'error' in body ? body.error : ''}`);
    result = body as CompareResult;
  } else {
    if (!fs.existsSync(cmd.source.db)) throw new Error(`no database at ${cmd.source.db} (start a collector with \`guestbench-collector serve\`, or pass --db FILE)`);
    const store = new SqliteStore(cmd.source.db);
    try {
      result = await compare(store, { baseline: baseline.value, groups: groups.value });
    } finally {
      await store.close();
    }
  }
  process.stdout.write(cmd.json ? `${JSON.stringify(result, null, 2)}\n` : `${formatComparison(result)}\n`);
  return 0;
}

async function serve(cmd: Extract<Command, { kind: 'serve' }>): Promise<number> {
  const logger = createLogger({ level: cmd.logLevel });
  const collector = await startCollector({ grpcAddress: cmd.grpc, httpAddress: cmd.http, store: { sqliteFile: cmd.db }, logger });
  logger.info({ event: 'collector-ready', db: cmd.db, grpc: collector.grpcAddress, http: collector.httpUrl }, 'collector ready');
  await new Promise<void>((resolve) => {
    const stop = (signal: string): void => {
      logger.info({ event: 'collector-stopping', signal }, 'collector stopping');
      resolve();
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
  await collector.close();
  logger.flush();
  return 0;
}

async function main(argv: readonly string[]): Promise<number> {
  let cmd: Command;
  try {
    cmd = parseArguments(argv);
  } catch (err: unknown) {
    if (isUsageError(err)) {
      process.stderr.write(`guestbench-collector: ${err.message}\nRun \`guestbench-collector --help\` for usage.\n`);
      return 2;
    }
    throw err;
  }
  switch (cmd.kind) {
    case 'help':
      process.stdout.write(USAGE);
      return 0;
    case 'serve':
      return serve(cmd);
    case 'report':
      return report(cmd);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`guestbench-collector: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
