// The agent's command-line flags for the disk and network benchmarks.
import path from 'node:path';
import { parseArguments } from '../cli/parse-arguments';

test('bench and run take --disk-dir (made absolute) and --net-target HOST:PORT', () => {
  expect(parseArguments(['bench', '--disk-dir', 'scratch', '--net-target', '192.0.2.10:7208'])).toMatchObject({
    kind: 'bench',
    diskDir: path.resolve('scratch'),
    netTarget: '192.0.2.10:7208',
  });
  expect(parseArguments(['run', '--collector', 'c:50051', '--net-target', '[2001:db8::1]:7208'])).toMatchObject({
    kind: 'run',
    netTarget: '[2001:db8::1]:7208',
    diskDir: undefined,
  });
});

test('a --net-target that is not HOST:PORT is a usage error naming the flag', () => {
  expect(() => parseArguments(['bench', '--net-target', 'sink.example'])).toThrow(
    '--net-target: expected HOST:PORT such as 192.0.2.10:50051 or [2001:db8::1]:50051, got "sink.example", which has no port',
  );
  expect(() => parseArguments(['bench', '--net-target', 'sink.example:0'])).toThrow(/--net-target/);
});

test('serve-net listens on 127.0.0.1 with a free port unless told, and takes port 0', () => {
  expect(parseArguments(['serve-net'])).toEqual({ kind: 'serve-net', listen: '127.0.0.1:0', json: false });
  expect(parseArguments(['serve-net', '--listen', '0.0.0.0:7208', '--json'])).toEqual({ kind: 'serve-net', listen: '0.0.0.0:7208', json: true });
  expect(() => parseArguments(['serve-net', '--listen', 'everywhere'])).toThrow(/--listen: expected HOST:PORT/);
  expect(() => parseArguments(['serve-net', '--disk-dir', '/x'])).toThrow(/serve-net: --disk-dir does not apply/);
});
