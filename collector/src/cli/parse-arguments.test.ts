import path from 'node:path';
import { isUsageError } from '@guestbench/proto';
import { collectorCommandHelp, parseArguments } from './parse-arguments';
import { COLLECTOR_VERSION } from '../version';
import collectorPackage from '../../package.json';

function usageError(argv: string[]): string {
  try {
    parseArguments(argv, {}, '/srv');
  } catch (err: unknown) {
    expect(isUsageError(err)).toBe(true);
    return (err as Error).message;
  }
  throw new Error('expected a UsageError');
}

test('serve defaults to loopback and the data folder', () => {
  expect(parseArguments(['serve'], {}, '/srv')).toEqual({
    kind: 'serve',
    grpc: '127.0.0.1:50051',
    http: '127.0.0.1:8080',
    db: path.resolve('/srv/data/guestbench.db'),
    logLevel: 'info',
    logFile: undefined,
    logMaxBytes: 10 * 1024 * 1024,
    logPretty: false,
    insecureNoAuth: false,
    netSink: undefined,
    tls: undefined,
    collectorId: undefined,
    jobPollMs: undefined,
    dbPool: undefined,
  });
  expect(parseArguments(['serve', '--collector-id', 'host-a:50051', '--job-poll-ms', '500'], {}, '/srv')).toMatchObject({
    collectorId: 'host-a:50051',
    jobPollMs: 500,
  });
  expect(parseArguments(['serve', '--db', 'postgres://u@h/db', '--db-pool', '40'], {}, '/srv')).toMatchObject({ db: 'postgres://u@h/db', dbPool: 40 });
  expect(parseArguments(['serve', '--insecure-no-auth', '--tls-cert', 'c.pem', '--tls-key', 'k.pem'], {}, '/srv')).toMatchObject({
    insecureNoAuth: true,
    tls: { cert: '/srv/c.pem', key: '/srv/k.pem', clientCa: undefined },
  });
  expect(parseArguments(['serve', '--log-file', 'logs/c.log', '--log-max-mb', '2', '--log-pretty'], {}, '/srv')).toMatchObject({
    logFile: '/srv/logs/c.log',
    logMaxBytes: 2 * 1024 * 1024,
    logPretty: true,
  });
  expect(parseArguments(['serve'], { GUESTBENCH_DATA: '/var/lib/gb' }, '/srv')).toMatchObject({ db: '/var/lib/gb/guestbench.db' });
});

test('report reads a file or a URL', () => {
  expect(parseArguments(['report', '--baseline', 'native', '--groups', 'kvm, xen/pv', '--json'], {}, '/srv')).toEqual({
    kind: 'report',
    query: { baseline: 'native', groups: ['kvm', 'xen/pv'], filter: {} },
    format: 'json',
    out: undefined,
    source: { db: path.resolve('/srv/data/guestbench.db') },
  });
  expect(parseArguments(['report', '--url', 'http://127.0.0.1:8080'], {}, '/srv')).toMatchObject({ source: { url: 'http://127.0.0.1:8080' } });
});

test('report: a format, a file to write, and which runs', () => {
  expect(parseArguments(['report'], {}, '/srv')).toMatchObject({ format: 'text', out: undefined, query: { baseline: 'native', groups: [], filter: {} } });
  expect(parseArguments(['report', '--out', 'r/page.HTML'], {}, '/srv')).toMatchObject({ format: 'html', out: '/srv/r/page.HTML' });
  expect(parseArguments(['report', '--out', 'r.csv', '--format', 'md'], {}, '/srv')).toMatchObject({ format: 'md' });
  expect(
    parseArguments(['report', '--platform', 'kvm', '--label', 'virtio', '--host', 'h1', '--since', '2024-05-01', '--until', '2024-05-01'], {}, '/srv'),
  ).toMatchObject({ query: { filter: { platform: 'kvm', label: 'virtio', hostname: 'h1', since: Date.UTC(2024, 4, 1), until: Date.UTC(2024, 4, 2) - 1 } } });
});

test('--db takes a postgres:// URL as it is, and anything else as a file', () => {
  const url = 'postgres://gb:secret@db.example:5432/guestbench';
  expect(parseArguments(['serve', '--db', url], {}, '/srv')).toMatchObject({ db: url });
  expect(parseArguments(['report', '--db', 'postgresql://db/gb'], {}, '/srv')).toMatchObject({ source: { db: 'postgresql://db/gb' } });
  expect(parseArguments(['serve', '--db', 'rel/x.db'], {}, '/srv')).toMatchObject({ db: '/srv/rel/x.db' });
});

test('job commands talk to a collector', () => {
  expect(parseArguments(['job', 'create', '--platform', 'kvm', '--profile', 'smoke'], { GUESTBENCH_OPERATOR_TOKEN: 'gbt_x' }, '/srv')).toEqual({
    kind: 'job-create',
    collector: '127.0.0.1:50051',
    token: 'gbt_x',
    ca: undefined,
    platform: 'kvm',
    profile: 'smoke',
    label: '',
    json: false,
  });
  expect(parseArguments(['job', 'show', 'abc', '--json'], {}, '/srv')).toEqual({
    kind: 'job-show',
    collector: '127.0.0.1:50051',
    token: undefined,
    ca: undefined,
    id: 'abc',
    json: true,
  });
  expect(parseArguments(['job', 'list'], {}, '/srv')).toMatchObject({ kind: 'job-list' });
});

test('token rebind moves an agent id to a token, or unbinds the token', () => {
  expect(parseArguments(['token', 'rebind', 'web01', '--agent', 'web01-3f2a', '--db', 'g.db'], {}, '/srv')).toEqual({
    kind: 'token-rebind',
    db: '/srv/g.db',
    idOrName: 'web01',
    agentId: 'web01-3f2a',
  });
  expect(parseArguments(['token', 'rebind', 'web01', '--db', 'g.db'], {}, '/srv')).toEqual({
    kind: 'token-rebind',
    db: '/srv/g.db',
    idOrName: 'web01',
    agentId: '',
  });
});

test.each([
  [['job'], /job: say create, list or show/],
  [['token', 'create'], /--name NAME is required/],
  [['token', 'create', '--name', 'a', '--platform', 'bochs'], /--platform: expected one of native/],
  [['token', 'revoke'], /token revoke: give one token id or name/],
  [['token', 'rebind', '--agent', 'a'], /token rebind: give one token id or name/],
  [['token', 'rebind', 'web01', '--agent', 'has space'], /--agent: an agent id, 1 to 128 letters/],
  [['token', 'list', '--agent', 'a'], /token list: --agent does not apply/],
  [['serve', '--tls-cert', 'c.pem'], /TLS needs both --tls-cert FILE and --tls-key FILE/],
  [['job', 'show'], /job show: give one job id/],
  [['job', 'list', 'extra'], /unexpected argument "extra"/],
  [['serve', '--log-max-mb', '0'], /--log-max-mb: a whole number/],
  [['serve', '--job-poll-ms', '10'], /--job-poll-ms: whole milliseconds, at least 100, got "10"/],
  [['serve', '--db', 'postgres://u@h/db', '--db-pool', '0'], /--db-pool: a whole number of connections from 1 to 1000, got "0"/],
  [['serve', '--db', 'postgres://u@h/db', '--db-pool', '2000'], /--db-pool: a whole number of connections from 1 to 1000, got "2000"/],
  [['serve', '--db', 'postgres://u@h/db', '--db-pool', 'many'], /--db-pool: a whole number/],
  [['serve', '--db-pool', '20'], /--db-pool: only for a PostgreSQL --db/],
  [['serve', '--job-poll-ms', '1s'], /--job-poll-ms: whole milliseconds/],
  [['serve', '--collector-id', 'a b'], /--collector-id: 1 to 128 printable characters without spaces/],
  [['serve', '--grpc', 'localhost'], /--grpc: expected HOST:PORT/],
  [['serve', '--log-level', 'loud'], /--log-level: one of trace/],
  [['serve', '--json'], /serve: --json does not apply/],
  [['report', '--db', 'a.db', '--url', 'http://x:1'], /give --db or --url, not both/],
  [['report', '--url', 'ftp://x'], /--url: expected http/],
  [['report', '--format', 'pdf'], /--format: one of text, html, md, csv, json/],
  [['report', '--json', '--format', 'html'], /--json is --format json/],
  [['report', '--since', 'yesterday'], /--since: expected an ISO date/],
  [['report', '--since', '2024-05-02', '--until', '2024-05-01'], /--since: must not be after until/],
  [['report', '--baseline', 'Not A Group'], /--baseline: expected "platform" or "platform\/label"/],
  [['launch'], /unknown command "launch" \(commands: serve, report, compare --aa, job create\|list\|show, token create\|list\|revoke\|rebind\)/],
  [['job', 'launch'], /^job: unknown command "launch" \(create, list or show\)$/],
  [['serve', '--bogus'], /^serve: unknown option --bogus \(options: --grpc, --http/],
  [['report', '--out'], /^report: --out needs a value$/],
  [['serve', 'now'], /^serve: unexpected argument "now"$/],
  [['token', 'list', '--json=no'], /^token list: --json is a switch and takes no value$/],
  [['job', 'create', '--only', 'cpu,'], /--only: comma-separated benchmark ids or categories/],
  [['job', 'create', '--set', 'fileMiB=3'], /--set: expected BENCHMARK.SETTING=VALUE/],
  [['job', 'list', '--only', 'cpu'], /job list: --only does not apply/],
])('refuses %j', (argv, message) => {
  expect(usageError(argv)).toMatch(message);
});

test("job create --only/--skip/--set become the job's profile text, which agents parse", () => {
  expect(
    parseArguments(
      [
        'job',
        'create',
        '--profile',
        'smoke',
        '--only',
        'cpu,disk.seq_read',
        '--skip',
        'cpu.math',
        '--set',
        'disk.seq_read.fileMiB=64',
        '--set',
        'cpu.int32.x=1',
      ],
      {},
      '/srv',
    ),
  ).toMatchObject({
    kind: 'job-create',
    profile: 'smoke only=cpu,disk.seq_read skip=cpu.math set=disk.seq_read.fileMiB=64 set=cpu.int32.x=1',
  });
  expect(parseArguments(['job', 'create'], {}, '/srv')).toMatchObject({ profile: 'quick' });
});

test("help and version in every spelling; a command group's help lists its commands", () => {
  for (const argv of [[], ['--help'], ['-h'], ['help']]) expect(parseArguments(argv, {}, '/srv')).toEqual({ kind: 'help' });
  expect(parseArguments(['job', '--help'], {}, '/srv')).toEqual({ kind: 'help', command: 'job' });
  expect(parseArguments(['token', '-h'], {}, '/srv')).toEqual({ kind: 'help', command: 'token' });
  expect(parseArguments(['job', 'create', '--help'], {}, '/srv')).toEqual({ kind: 'help', command: 'job create' });
  expect(parseArguments(['help', 'serve'], {}, '/srv')).toEqual({ kind: 'help', command: 'serve' });
  for (const argv of [['--version'], ['-V'], ['version']]) expect(parseArguments(argv, {}, '/srv')).toEqual({ kind: 'version' });
  expect(COLLECTOR_VERSION).toBe(collectorPackage.version);
  const job = collectorCommandHelp('job');
  for (const line of ['guestbench-collector job create', 'guestbench-collector job list', 'guestbench-collector job show', '--only', '--set', '--token'])
    expect(job).toContain(line);
  expect(job).not.toContain('guestbench-collector token');
  expect(job).not.toContain('--tls-cert');
  const token = collectorCommandHelp('token');
  for (const line of ['token create', 'token list', 'token revoke', '--expires', '--operator']) expect(token).toContain(line);
  expect(token).not.toContain('job create');
  expect(collectorCommandHelp('serve')).toContain('--grpc');
  expect(collectorCommandHelp('serve')).not.toContain('--baseline');
});

test('compare --aa takes two groups, a source and host or time, and refuses the rest', () => {
  expect(parseArguments(['compare', '--aa', 'native/a', 'native/b', '--host', 'h1', '--json'], {}, '/srv')).toEqual({
    kind: 'compare-aa',
    a: 'native/a',
    b: 'native/b',
    json: true,
    source: { db: path.resolve('/srv/data/guestbench.db') },
    query: { baseline: 'native', groups: [], filter: { hostname: 'h1' } },
  });
  expect(parseArguments(['compare', '--aa', 'native', 'native/repeat', '--url', 'http://127.0.0.1:8080'], {}, '/srv')).toMatchObject({
    source: { url: 'http://127.0.0.1:8080' },
  });
  expect(usageError(['compare', 'native/a', 'native/b'])).toMatch(/only the A\/A check is offered here, as compare --aa GROUP_A GROUP_B/);
  expect(usageError(['compare', '--aa', 'native/a'])).toMatch(/give two groups of one platform, e\.g\. native\/a native\/b \(got 1\)/);
  expect(usageError(['compare', '--aa', 'native/a', 'Native!'])).toMatch(/GROUP_B: expected "platform" or "platform\/label"/);
  expect(usageError(['compare', '--aa', 'native/a', 'native/b', '--baseline', 'kvm'])).toMatch(/--baseline does not apply/);
  expect(usageError(['compare', '--aa', 'native/a', 'native/b', '--db', 'x.db', '--url', 'http://h:1'])).toMatch(/compare: give --db or --url, not both/);
});
