import agentPackage from '../../package.json';
import { isUsageError } from '@guestbench/proto';
import { agentCommandHelp, COMMANDS, parseArguments, versionText } from './parse-arguments';

function usageError(argv: string[]): string {
  try {
    parseArguments(argv);
  } catch (err: unknown) {
    expect(isUsageError(err)).toBe(true);
    return (err as Error).message;
  }
  throw new Error('expected a UsageError');
}

test('run with every option', () => {
  expect(
    parseArguments([
      'run',
      '--collector',
      '10.0.2.2:50051',
      '--label',
      'virtio',
      '--platform',
      'kvm',
      '--profile',
      'quick',
      '--token',
      'gbt_t',
      '--ca',
      '/ca.pem',
    ]),
  ).toMatchObject({
    kind: 'run',
    collector: '10.0.2.2:50051',
    label: 'virtio',
    platform: 'kvm',
    profile: 'quick',
    agentId: undefined,
    json: false,
    token: 'gbt_t',
    tls: { ca: '/ca.pem', cert: undefined, key: undefined },
    deliverTimeoutSeconds: 600,
  });
});

test('--precision as a percentage or a fraction, with its budget', () => {
  expect(parseArguments(['run', '--precision', '5%'])).toMatchObject({ precision: 0.05, precisionBudgetSeconds: undefined });
  expect(parseArguments(['bench', '--precision', '0.02', '--precision-budget', '90'])).toMatchObject({ precision: 0.02, precisionBudgetSeconds: 90 });
  expect(parseArguments(['bench'])).toMatchObject({ precision: undefined, precisionBudgetSeconds: undefined });
});

test('help in every spelling', () => {
  for (const argv of [[], ['--help'], ['-h'], ['help']]) expect(parseArguments(argv)).toEqual({ kind: 'help' });
  for (const argv of [
    ['bench', '--help'],
    ['bench', '-h'],
    ['help', 'bench'],
  ])
    expect(parseArguments(argv)).toEqual({ kind: 'help', command: 'bench' });
  for (const argv of [['--version'], ['-V'], ['version']]) expect(parseArguments(argv)).toEqual({ kind: 'version' });
});

test.each(COMMANDS.filter((c) => c !== 'load' && c !== 'serve-web'))("%s --help is that command's usage and its options only", (command) => {
  const help = agentCommandHelp(command);
  expect(help).toMatch(new RegExp(`^Usage:\\n  guestbench-agent ${command} `));
  expect(help).not.toMatch(new RegExp(`guestbench-agent (?!${command} )[a-z-]+ `));
  const allowed = (parseArguments([command, '--help']) as { command: string }).command === command;
  expect(allowed).toBe(true);
});

test("run --help names run's options and not those of other commands", () => {
  const help = agentCommandHelp('run');
  for (const flag of ['--collector', '--only', '--skip', '--set', '--deliver-timeout', '--token']) expect(help).toContain(flag);
  expect(help).not.toContain('--listen');
  expect(help).not.toContain('--root');
});

test('the unknown-command message names every command, load and serve-web included', () => {
  const message = usageError(['frobnicate']);
  for (const c of COMMANDS) expect(message).toContain(c);
  expect(COMMANDS).toEqual(expect.arrayContaining(['load', 'serve-web', 'detect', 'bench', 'run', 'daemon', 'flush', 'config', 'serve-net', 'list']));
});

test('--only, --skip and --set (repeatable) are parsed into a selection', () => {
  expect(
    parseArguments(['bench', '--only', 'cpu,disk.seq_read', '--skip', 'web', '--set', 'disk.seq_read.fileMiB=4096', '--set', 'mem.latency.workingSetMiB=8.5']),
  ).toMatchObject({
    kind: 'bench',
    selection: {
      only: ['cpu', 'disk.seq_read'],
      skip: ['web'],
      set: [
        { benchmark: 'disk.seq_read', key: 'fileMiB', value: 4096 },
        { benchmark: 'mem.latency', key: 'workingSetMiB', value: 8.5 },
      ],
    },
  });
  expect(parseArguments(['run', '--only', 'cpu'])).toMatchObject({ kind: 'run', selection: { only: ['cpu'], skip: [], set: [] } });
});

test.each([
  [['frobnicate'], /unknown command "frobnicate"/],
  [['run', '--cert', 'c.pem'], /--cert and --key go together/],
  [['run', '--cert', 'c.pem', '--key', 'k.pem'], /--cert\/--key need --ca/],
  [['run', '--deliver-timeout', 'soon'], /--deliver-timeout: whole seconds/],
  [['config'], /config: say --show/],
  [['run', '--collector', 'nohost'], /--collector: expected HOST:PORT/],
  [['run', '--collector', 'h:99999'], /--collector: expected HOST:PORT/],
  [['daemon', '--collector', 'a:1,,b:2'], /--collector: expected HOST:PORT .* got "", which .* \(in the list "a:1,,b:2"\)/],
  [['daemon', '--collector', 'a:1,b'], /got "b", which has no port \(in the list "a:1,b"\)/],
  [['run', '--platform', 'bochs'], /--platform: expected auto or one of native, kvm/],
  [['run', '--label', 'a/b'], /--label: expected 1 to 64 letters/],
  [['bench', '--collector', 'h:1'], /bench: --collector does not apply/],
  [['bench', '--bogus'], /^bench: unknown option --bogus \(options: --profile, --only/],
  [['bench', '--profile'], /^bench: --profile needs a value$/],
  [['bench', '--profile', '--json'], /^bench: --profile needs a value; one that starts with "-" is written --profile=-VALUE$/],
  [['bench', '--json=yes'], /^bench: --json is a switch and takes no value$/],
  [['list', 'extra'], /^list: unexpected argument "extra"$/],
  [['load', '--bogus', 'http://x/'], /^load: unknown option --bogus/],
  [['serve-web', '--bogus'], /^serve-web: unknown option --bogus/],
  [['bench', '--only', 'cpu,,mem'], /--only: comma-separated benchmark ids or categories/],
  [['bench', '--set', 'disk.seq_read=4'], /--set: expected BENCHMARK.SETTING=VALUE such as disk.seq_read.fileMiB=4096/],
  [['daemon', '--only', 'cpu'], /daemon: --only does not apply/],
  [['run', '--precision', '0%'], /--precision: a relative half-width above 0 and below 100%, such as 5% or 0.05, got "0%"/],
  [['run', '--precision', '100%'], /--precision: a relative half-width above 0 and below 100%/],
  [['bench', '--precision', 'five'], /--precision: a relative half-width/],
  [['run', '--precision', '5%', '--precision-budget', '0'], /--precision-budget: seconds above 0 and at most 86400, got "0"/],
  [['daemon', '--precision', '5%'], /daemon: --precision does not apply/],
])('refuses %j', (argv, message) => {
  expect(usageError(argv)).toMatch(message);
});

test("no message of Node's argument parser shows through", () => {
  for (const argv of [
    ['bench', '--bogus'],
    ['bench', '--profile'],
    ['bench', '--json=1'],
    ['list', 'x'],
    ['load', '--zz'],
    ['serve-web', '--zz'],
    ['detect', '-q'],
  ]) {
    expect(usageError(argv)).not.toMatch(/To specify|positional|Option '|Unknown option|ambiguous|Did you forget/);
  }
});

test('--version says the version package.json has', () => {
  expect(versionText()).toBe(`guestbench-agent ${agentPackage.version} (Node ${process.version})\n`);
});
