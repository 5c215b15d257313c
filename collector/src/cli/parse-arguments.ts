// Turns the collector's command line into a typed command, or a usage error. Kept apart
// from main() so that both can be tested.
import path from 'node:path';
import { parseArgs } from 'node:util';
import {
  UsageError,
  argumentErrorMessage,
  commandHelp,
  formatProfileSpec,
  ID_PATTERN,
  parseBenchmarkList,
  parseHostPort,
  parsePlatform,
  parseSettingOverride,
  type SpecOverride,
} from '@guestbench/proto';
import { parseGroupSpecStrict } from '../query/parse-query';
import { parseReportQuery, type ReportQuery } from '../query/parse-report-query';
import { isReportFormat, REPORT_FORMATS, type ReportFormat } from '../report/render-report';
import { isPostgresUrl } from '../store/database-spec';

export const USAGE = `guestbench-collector — stores benchmark results and compares guests against native

Usage:
  guestbench-collector serve  [--grpc HOST:PORT] [--http HOST:PORT] [--net-sink HOST:PORT|off] [--db FILE|URL]
                              [--log-level LEVEL] [--log-file FILE] [--log-max-mb N] [--log-pretty]
                              [--tls-cert FILE --tls-key FILE [--tls-client-ca FILE]] [--insecure-no-auth]
                              [--collector-id NAME] [--job-poll-ms N] [--db-pool N]
  guestbench-collector report [--format text|html|md|csv|json] [--out FILE] [--baseline GROUP] [--groups G1,G2]
                              [--platform NAME] [--label NAME] [--host NAME] [--since TIME] [--until TIME]
                              [--db FILE|URL | --url URL] [--json]
  guestbench-collector compare --aa GROUP_A GROUP_B [--db FILE|URL | --url URL] [--host NAME] [--since TIME] [--until TIME] [--json]
  guestbench-collector job create [--platform NAME|any] [--profile NAME] [--only LIST] [--skip LIST] [--set B.KEY=V…]
                                  [--label NAME] [--collector HOST:PORT] [--json]
  guestbench-collector job list   [--collector HOST:PORT] [--json]
  guestbench-collector job show ID [--collector HOST:PORT] [--json]
  guestbench-collector token create --name NAME [--platform NAME] [--expires 90d] [--operator] [--db FILE] [--json]
  guestbench-collector token list [--db FILE] [--json]
  guestbench-collector token revoke ID|NAME [--db FILE]
  guestbench-collector token rebind ID|NAME [--agent AGENT_ID] [--db FILE]
  guestbench-collector --help | --version
  guestbench-collector COMMAND --help     that command's usage and options (e.g. job create --help)

Commands:
  serve    run the collector: gRPC for agents and queries, the HTTP API and report, /metrics
  report   print or write the comparison of guests against the baseline
  compare  the A/A check of two groups of one platform (compare --aa A B): agrees, too noisy to tell, or disagrees
  job      hand a run to connected daemon agents (create), and follow it (list, show)
  token    make, list, revoke and rebind the tokens agents and operators present

Options:
  --grpc HOST:PORT    gRPC listen address for agents and queries (default 127.0.0.1:50051)
  --http HOST:PORT    HTTP API listen address (default 127.0.0.1:8080; port 0 picks a free one)
  --net-sink H:P|off  the sink/echo endpoint the agents' network benchmarks load, announced at
                      enrollment (default: the --grpc host and the --grpc port + 1, e.g. 127.0.0.1:50052,
                      so it stays put across restarts; give a fixed port, e.g. 0.0.0.0:7208,
                      when a firewall sits between guests and collector)
  --db FILE|URL       SQLite file (default $GUESTBENCH_DATA/guestbench.db, else ./data/guestbench.db),
                      or postgres://USER:PASSWORD@HOST:PORT/DB: PostgreSQL, which several collectors can share
  --db-pool N         PostgreSQL connections this collector keeps open at most, 1 to 1000 (default 10)
  --collector-id NAME this collector's name in the fleet's presence table (default HOSTNAME:GRPC_PORT)
  --job-poll-ms N     how often agents waiting here are checked for jobs should a PostgreSQL notification
                      be missed, and the only way on SQLite shared by several collectors (default 2000)
  --url URL           report: read from a running collector's HTTP API instead of the database
  --format FORMAT     report: text (the terminal table, default), html (a self-contained page with charts),
                      md, csv or json; --out FILE.html and friends choose it from the extension
  --out FILE          report: write to FILE instead of stdout
  --host NAME         report: only runs on this host (the baseline too)
  --since TIME        report: only runs started at or after TIME (ISO date or date-time, UTC by default; or unix ms)
  --until TIME        report: only runs started at or before TIME (a bare date means to the end of that day)
  --baseline GROUP    the baseline group, "platform" or "platform/label" (default native)
  --groups LIST       only these groups, comma-separated
  --aa                compare: the A/A check of two groups of one platform: agrees, too noisy to tell (and what
                      to run), or disagrees; exits 0, 3 for too noisy, 4 for disagrees
  --json              machine-readable output (report: the same as --format json)
  --log-level LEVEL   trace, debug, info, warn, error (default info)
  --log-file FILE     also write JSON log lines to FILE, rotated by size (FILE.1 … FILE.5)
  --log-max-mb N      rotate the log file at N MiB (default 10)
  --log-pretty        human-readable log lines on stdout instead of JSON
  --insecure-no-auth  accept agents and writes without tokens (demos only; logged loudly)
  --tls-cert FILE     serve gRPC and HTTP over TLS with this certificate (PEM) …
  --tls-key FILE      … and this key
  --tls-client-ca FILE  mutual TLS: clients must present a certificate signed by this CA
  --name NAME         token: a name for people (e.g. the guest it goes to)
  --expires WHEN      token: 90d, 12h, 30m or an ISO date (default: never)
  --operator          token: an operator token (jobs, writes over HTTP) instead of an agent token
  --agent AGENT_ID    token rebind: bind the token to this agent id, taking it from the token that
                      holds it (without --agent the token is unbound: its next enrollment binds it)
  --token TOKEN       job: the operator token (default $GUESTBENCH_OPERATOR_TOKEN)
  --ca FILE           job: verify the collector's TLS certificate with this CA
  --collector H:P     job: the collector's gRPC address (default 127.0.0.1:50051)
  --platform NAME     job: only agents of this platform (default any); report: only this platform's groups
  --profile NAME      job: smoke, quick, standard or full (default quick)
  --only LIST         job: run only these benchmarks: ids or categories, comma-separated (cpu,disk.seq_read)
  --skip LIST         job: leave these out (web)
  --set B.KEY=VALUE   job: change one benchmark setting, e.g. disk.seq_read.fileMiB=4096; may be repeated;
                      the agent checks it as it checks its profiles, and refuses a job it cannot run
  --label NAME        job: the label of the runs; report: only groups with this label

Environment:
  GUESTBENCH_DATA     data folder for the SQLite file (default ./data)
`;

export type Command =
  | { readonly kind: 'help'; readonly command?: string }
  | { readonly kind: 'version' }
  | {
      readonly kind: 'serve';
      readonly grpc: string;
      readonly http: string;
      /** HOST:PORT of the net sink, false for none, undefined for the collector's default. */
      readonly netSink: string | false | undefined;
      readonly db: string;
      readonly logLevel: string;
      readonly logFile: string | undefined;
      readonly logMaxBytes: number;
      readonly logPretty: boolean;
      readonly insecureNoAuth: boolean;
      readonly tls: { readonly cert: string; readonly key: string; readonly clientCa: string | undefined } | undefined;
      readonly collectorId: string | undefined;
      readonly jobPollMs: number | undefined;
      /** PostgreSQL pool size; undefined: the store's default. */
      readonly dbPool: number | undefined;
    }
  | {
      readonly kind: 'token-create';
      readonly db: string;
      readonly name: string;
      readonly platform: string;
      readonly expires: string | undefined;
      readonly operator: boolean;
      readonly json: boolean;
    }
  | { readonly kind: 'token-list'; readonly db: string; readonly json: boolean }
  | { readonly kind: 'token-revoke'; readonly db: string; readonly idOrName: string }
  /** agentId '' unbinds the token. */
  | { readonly kind: 'token-rebind'; readonly db: string; readonly idOrName: string; readonly agentId: string }
  | {
      readonly kind: 'job-create';
      readonly collector: string;
      readonly token: string | undefined;
      readonly ca: string | undefined;
      readonly platform: string;
      readonly profile: string;
      readonly label: string;
      readonly json: boolean;
    }
  | { readonly kind: 'job-list'; readonly collector: string; readonly token: string | undefined; readonly ca: string | undefined; readonly json: boolean }
  | {
      readonly kind: 'job-show';
      readonly collector: string;
      readonly token: string | undefined;
      readonly ca: string | undefined;
      readonly id: string;
      readonly json: boolean;
    }
  | {
      readonly kind: 'report';
      readonly query: ReportQuery;
      readonly format: ReportFormat;
      /** A file to write; stdout when undefined. */
      readonly out: string | undefined;
      readonly source: { readonly db: string } | { readonly url: string };
    }
  | {
      readonly kind: 'compare-aa';
      readonly a: string;
      readonly b: string;
      /** Host and time narrow both groups (platform and label are the groups'). */
      readonly query: ReportQuery;
      readonly json: boolean;
      readonly source: { readonly db: string } | { readonly url: string };
    };

const ALLOWED: Record<string, readonly string[]> = {
  serve: [
    'grpc',
    'http',
    'net-sink',
    'db',
    'log-level',
    'log-file',
    'log-max-mb',
    'log-pretty',
    'insecure-no-auth',
    'tls-cert',
    'tls-key',
    'tls-client-ca',
    'collector-id',
    'job-poll-ms',
    'db-pool',
  ],
  report: ['baseline', 'groups', 'db', 'url', 'json', 'format', 'out', 'platform', 'label', 'host', 'since', 'until'],
  compare: ['aa', 'db', 'url', 'json', 'host', 'since', 'until'],
  'job create': ['collector', 'platform', 'profile', 'only', 'skip', 'set', 'label', 'json', 'token', 'ca'],
  'job list': ['collector', 'json', 'token', 'ca'],
  'job show': ['collector', 'json', 'token', 'ca'],
  'token create': ['db', 'name', 'platform', 'expires', 'operator', 'json'],
  'token list': ['db', 'json'],
  'token revoke': ['db'],
  'token rebind': ['db', 'agent'],
};

/** The help of a command ("serve", "job create") or of a command group ("job", "token"). */
export function collectorCommandHelp(command: string): string {
  const flags = Object.entries(ALLOWED)
    .filter(([c]) => c === command || c.startsWith(`${command} `))
    .flatMap(([, f]) => f);
  return commandHelp(USAGE, 'guestbench-collector', command, [...new Set(flags)]);
}

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

/** An address to listen on (port 0 picks a free one) or to dial. */
function hostPort(value: string, flag: string): string {
  const parsed = parseHostPort(value, { allowZero: true });
  if (!parsed.ok) throw new UsageError(`${flag}: ${parsed.error}`);
  return value;
}

function tlsFiles(cert: string | undefined, key: string | undefined, clientCa: string | undefined, cwd: string): Extract<Command, { kind: 'serve' }>['tls'] {
  if (cert === undefined && key === undefined) {
    if (clientCa !== undefined) throw new UsageError('--tls-client-ca needs --tls-cert and --tls-key');
    return undefined;
  }
  if (cert === undefined || key === undefined) throw new UsageError('TLS needs both --tls-cert FILE and --tls-key FILE');
  return { cert: path.resolve(cwd, cert), key: path.resolve(cwd, key), clientCa: clientCa === undefined ? undefined : path.resolve(cwd, clientCa) };
}

const COMMAND_LIST = 'serve, report, compare --aa, job create|list|show, token create|list|revoke|rebind';

/** The job's profile text: the name and what --only/--skip/--set narrow or change ("quick only=cpu"). */
function jobProfile(name: string, only: string | undefined, skip: string | undefined, set: readonly string[] | undefined): string {
  const list = (flag: string, value: string | undefined): string[] => {
    if (value === undefined) return [];
    const parsed = parseBenchmarkList(flag, value);
    if (!parsed.ok) throw new UsageError(parsed.error);
    return parsed.value;
  };
  const overrides = (set ?? []).map((text): SpecOverride => {
    const parsed = parseSettingOverride(text);
    if (!parsed.ok) throw new UsageError(parsed.error);
    return parsed.value;
  });
  return formatProfileSpec({ name, only: list('--only', only), skip: list('--skip', skip), set: overrides });
}

export function defaultDbFile(env: NodeJS.ProcessEnv, cwd: string): string {
  const data = env['GUESTBENCH_DATA'] !== undefined && env['GUESTBENCH_DATA'] !== '' ? env['GUESTBENCH_DATA'] : path.join(cwd, 'data');
  return path.resolve(cwd, data, 'guestbench.db');
}

export function parseArguments(argv: readonly string[], env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): Command {
  const [first, ...afterFirst] = argv;
  if (first === undefined || first === '--help' || first === '-h') return { kind: 'help' };
  if (first === '--version' || first === '-V' || first === 'version') return { kind: 'version' };
  if (first === 'help') {
    const topic = afterFirst.join(' ');
    return topic !== '' && Object.keys(ALLOWED).some((c) => c === topic || c.startsWith(`${topic} `)) ? { kind: 'help', command: topic } : { kind: 'help' };
  }
  // "job create" and friends are one command of two words.
  const isPair = first === 'job' || first === 'token';
  const second = afterFirst[0];
  if (isPair && (second === '--help' || second === '-h')) return { kind: 'help', command: first };
  const sub = isPair ? `${first} ${second ?? ''}`.trim() : first;
  const rest = isPair ? afterFirst.slice(1) : afterFirst;
  if (sub === 'job') throw new UsageError('job: say create, list or show (`guestbench-collector job --help`)');
  if (sub === 'token') throw new UsageError('token: say create, list, revoke or rebind (`guestbench-collector token --help`)');
  if (isPair && ALLOWED[sub] === undefined)
    throw new UsageError(`${first}: unknown command "${second ?? ''}" (${first === 'job' ? 'create, list or show' : 'create, list, revoke or rebind'})`);
  if (ALLOWED[sub] === undefined) throw new UsageError(`unknown command "${sub}" (commands: ${COMMAND_LIST})`);
  let values: Record<string, string | boolean | string[] | undefined>;
  let positionals: string[];
  try {
    const options = {
      grpc: { type: 'string' },
      http: { type: 'string' },
      db: { type: 'string' },
      url: { type: 'string' },
      baseline: { type: 'string' },
      groups: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
      'net-sink': { type: 'string' },
      'log-level': { type: 'string' },
      'log-file': { type: 'string' },
      'log-max-mb': { type: 'string' },
      'log-pretty': { type: 'boolean' },
      collector: { type: 'string' },
      platform: { type: 'string' },
      profile: { type: 'string' },
      label: { type: 'string' },
      format: { type: 'string' },
      out: { type: 'string' },
      host: { type: 'string' },
      since: { type: 'string' },
      until: { type: 'string' },
      'insecure-no-auth': { type: 'boolean' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      'tls-client-ca': { type: 'string' },
      name: { type: 'string' },
      expires: { type: 'string' },
      operator: { type: 'boolean' },
      token: { type: 'string' },
      ca: { type: 'string' },
      aa: { type: 'boolean' },
      agent: { type: 'string' },
      only: { type: 'string' },
      skip: { type: 'string' },
      set: { type: 'string', multiple: true },
      'collector-id': { type: 'string' },
      'job-poll-ms': { type: 'string' },
      'db-pool': { type: 'string' },
    } as const;
    const parsed = parseArgs({ args: [...rest], options, strict: true, allowPositionals: true });
    values = parsed.values;
    positionals = parsed.positionals;
  } catch (err: unknown) {
    throw new UsageError(argumentErrorMessage(err, sub, ALLOWED[sub] ?? []));
  }
  if (values['help'] === true) return { kind: 'help', command: sub };
  const str = (k: string): string | undefined => values[k] as string | undefined;
  const allow = ALLOWED[sub] ?? [];
  const wantPositionals = sub === 'job show' || sub === 'token revoke' || sub === 'token rebind' ? 1 : sub === 'compare' ? 2 : 0;
  if (positionals.length !== wantPositionals) {
    throw new UsageError(
      sub === 'job show'
        ? 'job show: give one job id'
        : sub === 'token revoke' || sub === 'token rebind'
          ? `${sub}: give one token id or name`
          : sub === 'compare'
            ? `compare --aa: give two groups of one platform, e.g. native/a native/b (got ${positionals.length})`
            : `${sub}: unexpected argument "${positionals[0] ?? ''}"`,
    );
  }
  for (const k of Object.keys(values)) {
    if (values[k] !== undefined && k !== 'help' && !allow.includes(k))
      throw new UsageError(`${sub}: --${k} does not apply (options: ${allow.map((a) => `--${a}`).join(', ')})`);
  }
  const dbFlag = str('db');
  // A postgres:// URL is kept as given; anything else is a file, relative to the working folder.
  const db = dbFlag !== undefined && isPostgresUrl(dbFlag) ? dbFlag : path.resolve(cwd, dbFlag ?? defaultDbFile(env, cwd));
  const json = values['json'] === true;
  if (sub.startsWith('token ')) {
    if (sub === 'token list') return { kind: 'token-list', db, json };
    if (sub === 'token revoke') return { kind: 'token-revoke', db, idOrName: positionals[0] as string };
    if (sub === 'token rebind') {
      const agentId = str('agent') ?? '';
      if (str('agent') !== undefined && !ID_PATTERN.test(agentId)) {
        throw new UsageError(
          `--agent: an agent id, 1 to 128 letters, digits and . _ : - starting with a letter or digit, got ${JSON.stringify(agentId.slice(0, 80))}`,
        );
      }
      return { kind: 'token-rebind', db, idOrName: positionals[0] as string, agentId };
    }
    const name = str('name');
    if (name === undefined || !/^[A-Za-z0-9._ -]{1,64}$/.test(name))
      throw new UsageError('token create: --name NAME is required: 1 to 64 letters, digits, spaces and . _ -');
    const platform = str('platform') ?? '';
    const parsedPlatform = parsePlatform(platform);
    if (platform !== '' && !parsedPlatform.ok) throw new UsageError(`--platform: ${parsedPlatform.error}`);
    if (platform !== '' && values['operator'] === true) throw new UsageError('token create: --platform applies to agent tokens, not --operator ones');
    return { kind: 'token-create', db, name, platform, expires: str('expires'), operator: values['operator'] === true, json };
  }
  if (sub.startsWith('job ')) {
    const collector = hostPort(str('collector') ?? '127.0.0.1:50051', '--collector');
    const token = str('token') ?? (env['GUESTBENCH_OPERATOR_TOKEN'] || undefined);
    const ca = str('ca') === undefined ? undefined : path.resolve(cwd, str('ca') as string);
    if (sub === 'job list') return { kind: 'job-list', collector, token, ca, json };
    if (sub === 'job show') return { kind: 'job-show', collector, token, ca, id: positionals[0] as string, json };
    const profile = jobProfile(str('profile') ?? 'quick', str('only'), str('skip'), values['set'] as string[] | undefined);
    return { kind: 'job-create', collector, token, ca, platform: str('platform') ?? 'any', profile, label: str('label') ?? '', json };
  }
  if (sub === 'serve') {
    const logLevel = str('log-level') ?? 'info';
    if (!LOG_LEVELS.includes(logLevel)) throw new UsageError(`--log-level: one of ${LOG_LEVELS.join(', ')}, got "${logLevel}"`);
    const maxMb = str('log-max-mb') ?? '10';
    if (!/^[0-9]{1,5}$/.test(maxMb) || Number(maxMb) < 1) throw new UsageError(`--log-max-mb: a whole number of MiB ≥ 1, got "${maxMb}"`);
    const logFile = str('log-file');
    const collectorId = str('collector-id');
    if (collectorId !== undefined && !/^[\x21-\x7e]{1,128}$/.test(collectorId)) {
      throw new UsageError(`--collector-id: 1 to 128 printable characters without spaces, got "${collectorId}"`);
    }
    const pollMs = str('job-poll-ms');
    if (pollMs !== undefined && (!/^[0-9]{1,7}$/.test(pollMs) || Number(pollMs) < 100)) {
      throw new UsageError(`--job-poll-ms: whole milliseconds, at least 100, got "${pollMs}"`);
    }
    const dbPool = str('db-pool');
    if (dbPool !== undefined && (!/^[0-9]{1,4}$/.test(dbPool) || Number(dbPool) < 1 || Number(dbPool) > 1000)) {
      throw new UsageError(`--db-pool: a whole number of connections from 1 to 1000, got "${dbPool}"`);
    }
    if (dbPool !== undefined && !isPostgresUrl(db)) throw new UsageError('--db-pool: only for a PostgreSQL --db (postgres://…); SQLite has one connection');
    return {
      kind: 'serve',
      collectorId,
      dbPool: dbPool === undefined ? undefined : Number(dbPool),
      jobPollMs: pollMs === undefined ? undefined : Number(pollMs),
      grpc: hostPort(str('grpc') ?? '127.0.0.1:50051', '--grpc'),
      http: hostPort(str('http') ?? '127.0.0.1:8080', '--http'),
      netSink: str('net-sink') === undefined ? undefined : str('net-sink') === 'off' ? false : hostPort(str('net-sink') as string, '--net-sink'),
      db,
      logLevel,
      logFile: logFile === undefined ? undefined : path.resolve(cwd, logFile),
      logMaxBytes: Number(maxMb) * 1024 * 1024,
      logPretty: values['log-pretty'] === true,
      insecureNoAuth: values['insecure-no-auth'] === true,
      tls: tlsFiles(str('tls-cert'), str('tls-key'), str('tls-client-ca'), cwd),
    };
  }
  const url = str('url');
  if (url !== undefined && str('db') !== undefined) throw new UsageError(`${sub}: give --db or --url, not both`);
  if (url !== undefined && !/^https?:\/\/[^\s]+$/.test(url)) throw new UsageError(`--url: expected http://HOST:PORT, got "${url}"`);
  const params = new URLSearchParams();
  for (const key of ['baseline', 'groups', 'platform', 'label', 'host', 'since', 'until'] as const) {
    const v = str(key);
    if (v !== undefined) params.set(key, v);
  }
  const query = parseReportQuery(params);
  if (!query.ok) throw new UsageError(`--${query.error}`);
  if (sub === 'compare') {
    if (values['aa'] !== true)
      throw new UsageError('compare: only the A/A check is offered here, as compare --aa GROUP_A GROUP_B (the full comparison is `report`)');
    const [a, b] = positionals.map((p, i) => {
      const g = parseGroupSpecStrict(p, i === 0 ? 'GROUP_A' : 'GROUP_B');
      if (!g.ok) throw new UsageError(`compare --aa: ${g.error}`);
      return g.value;
    }) as [string, string];
    return { kind: 'compare-aa', a, b, query: query.value, json, source: url !== undefined ? { url } : { db } };
  }
  const out = str('out');
  const fromExtension: Record<string, ReportFormat> = { '.html': 'html', '.htm': 'html', '.md': 'md', '.csv': 'csv', '.json': 'json', '.txt': 'text' };
  const formatFlag = str('format');
  if (formatFlag !== undefined && json && formatFlag !== 'json')
    throw new UsageError(`report: --json is --format json; it cannot go with --format ${formatFlag}`);
  if (formatFlag !== undefined && !isReportFormat(formatFlag)) throw new UsageError(`--format: one of ${REPORT_FORMATS.join(', ')}, got "${formatFlag}"`);
  const format: ReportFormat = json ? 'json' : (formatFlag ?? (out === undefined ? undefined : fromExtension[path.extname(out).toLowerCase()]) ?? 'text');
  return {
    kind: 'report',
    query: query.value,
    format,
    out: out === undefined ? undefined : path.resolve(cwd, out),
    source: url !== undefined ? { url } : { db },
  };
}
