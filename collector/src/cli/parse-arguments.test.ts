import path from 'node:path';
import { isUsageError, parseArguments } from './parse-arguments';

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
    kind: 'serve', grpc: '127.0.0.1:50051', http: '127.0.0.1:8080', db: path.resolve('/srv/data/guestbench.db'), logLevel: 'info',
  });
  expect(parseArguments(['serve'], { GUESTBENCH_DATA: '/var/lib/gb' }, '/srv')).toMatchObject({ db: '/var/lib/gb/guestbench.db' });
});

test('report reads a file or a URL', () => {
  expect(parseArguments(['report', '--baseline', 'native', '--groups', 'kvm, xen/pv', '--json'], {}, '/srv')).toEqual({
    kind: 'report', baseline: 'native', groups: ['kvm', 'xen/pv'], source: { db: path.resolve('/srv/data/guestbench.db') }, json: true,
  });
  expect(parseArguments(['report', '--url', 'http://127.0.0.1:8080'], {}, '/srv')).toMatchObject({ source: { url: 'http://127.0.0.1:8080' } });
});

test.each([
  [['serve', '--grpc', 'localhost'], /--grpc: expected HOST:PORT/],
  [['serve', '--log-level', 'loud'], /--log-level: one of trace/],
  [['serve', '--json'], /serve: --json does not apply/],
  [['report', '--db', 'a.db', '--url', 'http://x:1'], /give --db or --url, not both/],
  [['report', '--url', 'ftp://x'], /--url: expected http/],
  [['launch'], /unknown command "launch"/],
])('refuses %j', (argv, message) => {
  expect(usageError(argv)).toMatch(message);
});
