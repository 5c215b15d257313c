#!/usr/bin/env node
// guestbench-collector: serve the gRPC and HTTP APIs, or print the comparison.
import { startCollector } from '../collector';
import { createLogger } from '../log';
import { describeDatabase } from '../store/database-spec';
import { collectorCommandHelp, parseArguments, USAGE, type Command } from './parse-arguments';
import { runCommandLine, type CommandLineProgram, type HelpOrVersion } from '@guestbench/proto';
import { COLLECTOR_VERSION } from '../version';
import { jobCommand } from './job-command';
import { compareAaCommand } from './compare-command';
import { reportCommand } from './report-command';
import { tokenCommand } from './token-command';
import fs from 'node:fs';

function readTlsFiles(files: { cert: string; key: string; clientCa: string | undefined }): { cert: Buffer; key: Buffer; clientCa?: Buffer } {
  const read = (file: string, flag: string): Buffer => {
    try {
      return fs.readFileSync(file);
    } catch (err: unknown) {
      throw new Error(`${flag}: cannot read ${file}: ${(err as Error).message}`, { cause: err });
    }
  };
  return {
    cert: read(files.cert, '--tls-cert'),
    key: read(files.key, '--tls-key'),
    ...(files.clientCa !== undefined ? { clientCa: read(files.clientCa, '--tls-client-ca') } : {}),
  };
}

async function serve(cmd: Extract<Command, { kind: 'serve' }>): Promise<number> {
  const logger = createLogger({ level: cmd.logLevel, pretty: cmd.logPretty, file: cmd.logFile, rotation: { maxBytes: cmd.logMaxBytes } });
  if (cmd.insecureNoAuth) {
    process.stderr.write(
      '\n*** guestbench-collector: AUTHENTICATION IS OFF (--insecure-no-auth). Anyone who can reach this collector\n' +
        '*** can write results and create jobs. Use it for demos on a trusted machine only. ***\n\n',
    );
  }
  const tls = cmd.tls === undefined ? undefined : readTlsFiles(cmd.tls);
  const collector = await startCollector({
    grpcAddress: cmd.grpc,
    httpAddress: cmd.http,
    netSinkAddress: cmd.netSink,
    store: { database: cmd.db, maxConnections: cmd.dbPool },
    logger,
    auth: cmd.insecureNoAuth ? 'none' : 'tokens',
    tls,
    collectorId: cmd.collectorId,
    jobPollMs: cmd.jobPollMs,
  });
  logger.info(
    {
      event: 'collector-ready',
      collectorId: collector.collectorId,
      db: describeDatabase(cmd.db),
      grpc: collector.grpcAddress,
      http: collector.httpUrl,
      netSink: collector.netSink,
    },
    'collector ready',
  );
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

type CollectorCommand = Exclude<Command, HelpOrVersion>;

async function execute(cmd: CollectorCommand): Promise<number> {
  switch (cmd.kind) {
    case 'serve':
      return serve(cmd);
    case 'report':
      return reportCommand(cmd);
    case 'compare-aa':
      return compareAaCommand(cmd);
    case 'job-create':
    case 'job-list':
    case 'job-show':
      return jobCommand(cmd);
    case 'token-create':
    case 'token-list':
    case 'token-revoke':
    case 'token-rebind':
      return tokenCommand(cmd);
  }
}

const program: CommandLineProgram<CollectorCommand> = {
  name: 'guestbench-collector',
  commands: ['job', 'token', 'serve', 'report'],
  parse: parseArguments,
  usage: USAGE,
  commandHelp: collectorCommandHelp,
  versionText: () => `guestbench-collector ${COLLECTOR_VERSION} (Node ${process.version})\n`,
  execute,
};
void runCommandLine(program, process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
