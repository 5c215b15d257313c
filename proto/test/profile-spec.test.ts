import { formatProfileSpec, parseProfileSpec } from '../src/profile-spec';

const NAMES = ['smoke', 'quick', 'standard', 'full'];

test('a profile text round-trips: name, only, skip and every set, in order', () => {
  const text = 'quick only=cpu,disk.seq_read skip=cpu.math set=disk.seq_read.fileMiB=4096 set=net.tcp_stream.seconds=0.5';
  const parsed = parseProfileSpec(text, NAMES);
  expect(parsed).toEqual({
    ok: true,
    value: {
      name: 'quick',
      only: ['cpu', 'disk.seq_read'],
      skip: ['cpu.math'],
      set: [
        { benchmark: 'disk.seq_read', key: 'fileMiB', value: '4096' },
        { benchmark: 'net.tcp_stream', key: 'seconds', value: '0.5' },
      ],
    },
  });
  expect(parsed.ok && formatProfileSpec(parsed.value)).toBe(text);
  expect(parseProfileSpec('smoke', NAMES)).toEqual({ ok: true, value: { name: 'smoke', only: [], skip: [], set: [] } });
});

test.each([
  ['fast', /^profile: one of smoke, quick, standard, full; got "fast"$/],
  ['quick only=', /profile only: comma-separated benchmark ids or categories/],
  ['quick only=CPU', /profile only: comma-separated/],
  ['quick set=disk.seq_read=4', /--set: expected BENCHMARK.SETTING=VALUE/],
  ['quick sets=1', /after the name come only=LIST, skip=LIST and set=B.KEY=VALUE; got "sets=1"/],
  ['quick  only=cpu', /after the name come/],
  [`quick ${'set=cpu.int32.x=1 '.repeat(40)}`, /at most 512 characters/],
])('refuses %j', (text, message) => {
  const parsed = parseProfileSpec(text, NAMES);
  expect(parsed.ok).toBe(false);
  expect(!parsed.ok && parsed.error).toMatch(message);
});
