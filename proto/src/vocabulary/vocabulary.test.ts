// Each rule of the shared vocabulary, tested once: what it takes, what it refuses, and that
// a refusal says what would be right.
import {
  categoryOf,
  formatHostPort,
  groupKey,
  isUnspecifiedHost,
  parseGroupKey,
  parseHostPort,
  parseId,
  parseLabel,
  parsePlatform,
  parseProfileName,
  parseSampleId,
  PLATFORMS,
  PROFILE_NAMES,
  sampleId,
  splitGroupKey,
} from '.';

function errorOf<T>(p: { ok: true; value: T } | { ok: false; error: string }): string {
  if (p.ok) throw new Error(`expected a refusal, got ${JSON.stringify(p.value)}`);
  return p.error;
}

describe('platforms', () => {
  test('every platform parses; auto only where allowed; anything else is refused with the list', () => {
    for (const p of PLATFORMS) expect(parsePlatform(p)).toEqual({ ok: true, value: p });
    expect(parsePlatform('auto', { allowAuto: true })).toEqual({ ok: true, value: 'auto' });
    expect(errorOf(parsePlatform('auto'))).toBe('expected one of native, kvm, qemu, vmware, xen, hyperv, other, got "auto"');
    expect(errorOf(parsePlatform('KVM', { allowAuto: true }))).toBe('expected auto or one of native, kvm, qemu, vmware, xen, hyperv, other, got "KVM"');
    expect(parsePlatform('').ok).toBe(false);
  });
});

describe('labels and groups', () => {
  test('a label is 1 to 64 letters, digits and . _ - =', () => {
    for (const ok of ['a', 'virtio-scsi', 'v1.2_x', 'x'.repeat(64), 'disk=sata.nic=e1000']) expect(parseLabel(ok)).toEqual({ ok: true, value: ok });
    // A comma would split a group in ?groups=kvm/a,kvm/b and ?aa=A,B.
    for (const bad of ['', 'a/b', 'two words', 'x'.repeat(65), 'é', 'tab\t', 'disk=sata,nic=e1000']) {
      expect(errorOf(parseLabel(bad))).toMatch(/^expected 1 to 64 letters, digits and \. _ - = \(no spaces, slashes or commas\), got /);
    }
  });

  test('a group is "platform" or "platform/label", and splits back the same', () => {
    expect(groupKey('kvm', '')).toBe('kvm');
    expect(groupKey('kvm', 'virtio')).toBe('kvm/virtio');
    expect(splitGroupKey('kvm/virtio')).toEqual({ platform: 'kvm', label: 'virtio' });
    expect(splitGroupKey('native')).toEqual({ platform: 'native', label: '' });
    expect(parseGroupKey('kvm/virtio-scsi')).toEqual({ ok: true, value: 'kvm/virtio-scsi' });
    expect(parseGroupKey('kvm/disk=sata.nic=e1000')).toEqual({ ok: true, value: 'kvm/disk=sata.nic=e1000' });
    expect(splitGroupKey('kvm/disk=sata.nic=e1000')).toEqual({ platform: 'kvm', label: 'disk=sata.nic=e1000' });
    for (const bad of ['', 'KVM', 'kvm/', 'kvm/a/b', '/x', 'kvm/two words', 'kvm/disk=sata,nic=e1000'])
      expect(errorOf(parseGroupKey(bad))).toMatch(/^expected "platform" or "platform\/label"/);
  });
});

describe('HOST:PORT', () => {
  test('names, IPv4 and bracketed IPv6, with the port', () => {
    expect(parseHostPort('10.0.0.1:5201')).toEqual({ ok: true, value: { host: '10.0.0.1', port: 5201 } });
    expect(parseHostPort('[::1]:5201')).toEqual({ ok: true, value: { host: '::1', port: 5201 } });
    expect(parseHostPort('[fe80::1%eth0]:1')).toEqual({ ok: true, value: { host: 'fe80::1%eth0', port: 1 } });
    expect(parseHostPort('sink.example:65535')).toEqual({ ok: true, value: { host: 'sink.example', port: 65535 } });
    expect(parseHostPort('build_box:80')).toEqual({ ok: true, value: { host: 'build_box', port: 80 } });
  });

  test('port 0 only for listening', () => {
    expect(errorOf(parseHostPort('127.0.0.1:0'))).toContain('which has port 0 outside 1-65535');
    expect(parseHostPort('127.0.0.1:0', { allowZero: true })).toEqual({ ok: true, value: { host: '127.0.0.1', port: 0 } });
  });

  test('each refusal says what would be right and what is wrong', () => {
    const cases: [string, string][] = [
      ['127.0.0.1', 'has no port'],
      [':80', 'has no host'],
      ['host:', 'has no port'],
      ['host:65536', 'has port 65536 outside 1-65535'],
      ['host:port', 'has an invalid port "port"'],
      ['a b:1', 'has an invalid host "a b"'],
      ['-x:1', 'has an invalid host "-x"'],
      ['::1:80', 'looks like an IPv6 address without brackets'],
      ['[nope]:80', 'has an invalid IPv6 address'],
      ['http://h:80', 'is a URL'],
    ];
    for (const [text, why] of cases) {
      expect(errorOf(parseHostPort(text))).toBe(
        `expected HOST:PORT such as 192.0.2.10:50051 or [2001:db8::1]:50051, got ${JSON.stringify(text)}, which ${why}`,
      );
    }
  });

  test('formats back with brackets for IPv6; unspecified hosts are recognized', () => {
    expect(formatHostPort({ host: '::1', port: 7 })).toBe('[::1]:7');
    expect(formatHostPort({ host: 'h', port: 7 })).toBe('h:7');
    for (const h of ['', '0.0.0.0', '::', '[::]']) expect(isUnspecifiedHost(h)).toBe(true);
    expect(isUnspecifiedHost('127.0.0.1')).toBe(false);
  });
});

test('ids: letters, digits and . _ : -, starting with a letter or digit, at most 128', () => {
  for (const ok of ['a', 'host-1.lab:x_y', 'x'.repeat(128)]) expect(parseId(ok)).toEqual({ ok: true, value: ok });
  for (const bad of ['', '-a', 'a b', 'a/b', 'x'.repeat(129)]) {
    expect(errorOf(parseId(bad))).toMatch(/^expected 1 to 128 letters, digits and \. _ : - \(starting with a letter or digit\), got /);
  }
});

test('profile names: the four the agent ships, nothing else', () => {
  expect(PROFILE_NAMES).toEqual(['smoke', 'quick', 'standard', 'full']);
  expect(parseProfileName('quick')).toEqual({ ok: true, value: 'quick' });
  expect(errorOf(parseProfileName('fast'))).toBe('expected one of smoke, quick, standard, full, got "fast"');
});

test('benchmark ids: the category is the part before the dot', () => {
  expect(categoryOf('cpu.int32')).toBe('cpu');
  expect(categoryOf('net.tcp_stream')).toBe('net');
  expect(categoryOf('nodot')).toBe('nodot');
});

test('sample ids: run, benchmark and metric, and back, even when the run id holds colons', () => {
  expect(sampleId('run-1', 'cpu.int32', 'ops')).toBe('run-1:cpu.int32:ops');
  expect(parseSampleId('run-1:cpu.int32:ops')).toEqual({ runId: 'run-1', benchmarkId: 'cpu.int32', metric: 'ops' });
  expect(parseSampleId(sampleId('a:b', 'mem.latency', 'p99.9'))).toEqual({ runId: 'a:b', benchmarkId: 'mem.latency', metric: 'p99.9' });
  for (const bad of ['', 'x', 'a:b', ':b:c', 'a::c', 'a:b:']) expect(parseSampleId(bad)).toBeUndefined();
});
