import { isUsageError, parseArguments } from './parse-arguments';

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
  expect(parseArguments(['run', '--collector', '10.0.2.2:50051', '--label', 'virtio', '--platform', 'kvm', '--profile', 'quick', '--token', 'gbt_t', '--ca', '/ca.pem'])).toMatchObject({
    kind: 'run', collector: '10.0.2.2:50051', label: 'virtio', platform: 'kvm', profile: 'quick', agentId: undefined, json: false,
    token: 'gbt_t', tls: { ca: '/ca.pem', cert: undefined, key: undefined }, deliverTimeoutSeconds: 600,
  });
});

test('--precision as a percentage or a fraction, with its budget', () => {
  expect(parseArguments(['run', '--precision', '5%'])).toMatchObject({ precision: 0.05, precisionBudgetSeconds: undefined });
  expect(parseArguments(['bench', '--precision', '0.02', '--precision-budget', '90'])).toMatchObject({ precision: 0.02, precisionBudgetSeconds: 90 });
  expect(parseArguments(['bench'])).toMatchObject({ precision: undefined, precisionBudgetSeconds: undefined });
});

test('help in every spelling', () => {
  for (const argv of [[], ['--help'], ['-h'], ['help'], ['bench', '--help']]) expect(parseArguments(argv)).toEqual({ kind: 'help' });
});

test.each([
  [['frobnicate'], /unknown command "frobnicate"/],
  [['run', '--cert', 'c.pem'], /--cert and --key go together/],
  [['run', '--cert', 'c.pem', '--key', 'k.pem'], /--cert\/--key need --ca/],
  [['run', '--deliver-timeout', 'soon'], /--deliver-timeout: whole seconds/],
  [['config'], /config: say --show/],
  [['run', '--collector', 'nohost'], /--collector: expected HOST:PORT/],
  [['run', '--collector', 'h:99999'], /--collector: expected HOST:PORT/],
  [['run', '--platform', 'bochs'], /--platform: auto or one of native, kvm/],
  [['run', '--label', 'a/b'], /--label: 1 to 64 letters/],
  [['bench', '--collector', 'h:1'], /bench: --collector does not apply/],
  [['bench', '--bogus'], /Unknown option '--bogus'/],
  [['run', '--precision', '0%'], /--precision: a relative half-width above 0 and below 100%, such as 5% or 0.05, got "0%"/],
  [['run', '--precision', '100%'], /--precision: a relative half-width above 0 and below 100%/],
  [['bench', '--precision', 'five'], /--precision: a relative half-width/],
  [['run', '--precision', '5%', '--precision-budget', '0'], /--precision-budget: seconds above 0 and at most 86400, got "0"/],
  [['daemon', '--precision', '5%'], /daemon: --precision does not apply/],
])('refuses %j', (argv, message) => {
  expect(usageError(argv)).toMatch(message);
});
