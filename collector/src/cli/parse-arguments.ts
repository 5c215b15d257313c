// Turns the collector's command line into a typed command, or a usage error. Kept apart
// from main() so that both can be tested.
import path from 'node:path';
import { parseArgs } from 'node:util';

export const USAGE = `guestbench-collector — stores benchmark results and compares guests against native

Usage:
  guestbench-collector serve  [--grpc HOST:PORT] [--http HOST:PORT] [--db FILE] [--log-level LEVEL]
  guestbench-collector report [--baseline GROUP] [--groups G1,G2] [--db FILE | --url URL] [--json]
  guestbench-collector --help

Options:
  --grpc HOST:PORT    gRPC listen address for agents and queries (default 127.0.0.1:50051)
  --http HOST:PORT    HTTP API listen address (default 127.0.0.1:8080; port 0 picks a free one)
  --db FILE           SQLite file (default $GUESTBENCH_DATA/guestbench.db, else ./data/guestbench.db)
  --url URL           report: read from a running collector's HTTP API instead of the file
  --baseline GROUP    the baseline group, "platform" or "platform/label" (default native)
  --groups LIST       only these groups, comma-separated
  --json              machine-readable output
  --log-level LEVEL   trace, debug, info, warn, error (default info)

Environment:
  GUESTBENCH_DATA     data folder for the SQLite file (default ./data)
`;

export type Command =
  | { readonly kind: 'help' }
  | { readonly kind: 'serve'; readonly grpc: string; readonly http: string; readonly db: string; readonly logLevel: string }
  | { readonly kind: 'report'; readonly baseline: string; readonly groups: readonly string[]; readonly source: { readonly db: string } | { readonly url: string }; readonly json: boolean };

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export function isUsageError(err: unknown): err is UsageError {
  return err instanceof UsageError;
}

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

function hostPort(value: string, flag: string): string {
  const m = /^(\[[^\]]+\]|[^:\s]+):(\d{1,5})$/.exec(value);
  if (m === null || Number(m[2]) > 65535) throw new UsageError(`${flag}: expected HOST:PORT such as 127.0.0.1:50051, got "${value}"`);
  return value;
}

export function defaultDbFile(env: NodeJS.ProcessEnv, cwd: string): string {
  const data = env['GUESTBENCH_DATA'] !== undefined && env['GUESTBENCH_DATA'] !== '' ? env['GUESTBENCH_DATA'] : path.join(cwd, 'data');
  return path.resolve(cwd, data, 'guestbench.db');
}

export function parseArguments(argv: readonly string[], env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): Command {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') return { kind: 'help' };
  let values: Record<string, string | boolean | undefined>;
  try {
    const options = {
      grpc: { type: 'string' }, http: { type: 'string' }, db: { type: 'string' }, url: { type: 'string' },
      baseline: { type: 'string' }, groups: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
      'log-level': { type: 'string' },
    } as const;
    values = parseArgs({ args: [...rest], options, strict: true, allowPositionals: false }).values;
  } catch (err: unknown) {
    throw new UsageError((err as Error).message);
  }
  if (values['help'] === true) return { kind: 'help' };
  const str = (k: string): string | undefined => values[k] as string | undefined;
  const allowed: Record<string, readonly string[]> = {
    serve: ['grpc', 'http', 'db', 'log-level'],
    report: ['baseline', 'groups', 'db', 'url', 'json'],
  };
  const allow = allowed[sub];
  if (allow === undefined) throw new UsageError(`unknown command "${sub}" (commands: serve, report)`);
  for (const k of Object.keys(values)) {
    if (values[k] !== undefined && k !== 'help' && !allow.includes(k)) throw new UsageError(`${sub}: --${k} does not apply (options: ${allow.map((a) => `--${a}`).join(', ')})`);
  }
  const db = path.resolve(cwd, str('db') ?? defaultDbFile(env, cwd));
  if (sub === 'serve') {
    const logLevel = str('log-level') ?? 'info';
    if (!LOG_LEVELS.includes(logLevel)) throw new UsageError(`--log-level: one of ${LOG_LEVELS.join(', ')}, got "${logLevel}"`);
    return {
      kind: 'serve',
      grpc: hostPort(str('grpc') ?? '127.0.0.1:50051', '--grpc'),
      http: hostPort(str('http') ?? '127.0.0.1:8080', '--http'),
      db,
      logLevel,
    };
  }
  const url = str('url');
  if (url !== undefined && str('db') !== undefined) throw new UsageError('report: give --db or --url, not both');
  if (url !== undefined && !/^https?:\/\/[^\s]+$/.test(url)) throw new UsageError(`--url: expected http://HOST:PORT, got "${url}"`);
  const groups = (str('groups') ?? '').split(',').map((g) => g.trim()).filter((g) => g !== '');
  return {
    kind: 'report',
    baseline: str('baseline') ?? 'native',
    groups,
    source: url !== undefined ? { url } : { db },
    json: values['json'] === true,
  };
}
