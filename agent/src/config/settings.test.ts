// Every setting, whatever its source, goes through the protocol's rule for it (tested in
// proto/src/vocabulary/), and a refusal names the setting and the source.
import { parseCollectorAddress, parseCollectorAddresses, parseSettingsObject, parseSettingValue } from './settings';

describe('parseCollectorAddress', () => {
  it.each([
    ['10.0.2.2:50051', '10.0.2.2', 50051],
    ['collector.lab.example:7443', 'collector.lab.example', 7443],
    [' localhost:1 ', 'localhost', 1],
    ['[::1]:50051', '::1', 50051],
  ])('accepts %j', (text, host, port) => {
    expect(parseCollectorAddress(text, 'test')).toMatchObject({ host, port });
  });

  it('rejects what is not HOST:PORT, naming the source and what is wrong', () => {
    expect(() => parseCollectorAddress('10.0.2.2:0', 'flag --collector')).toThrow(
      'collector from flag --collector: expected HOST:PORT such as 192.0.2.10:50051 or [2001:db8::1]:50051, got "10.0.2.2:0", which has port 0 outside 1-65535',
    );
  });
});

describe('parseSettingValue', () => {
  it('takes what the collector takes, trimmed', () => {
    expect(parseSettingValue('label', ' virtio-scsi ', 'x')).toBe('virtio-scsi');
    expect(parseSettingValue('platform', 'auto', 'x')).toBe('auto');
    expect(parseSettingValue('platform', 'kvm', 'x')).toBe('kvm');
    expect(parseSettingValue('profile', 'quick', 'x')).toBe('quick');
    // A file, as `run --profile ./mine.json` and the README say; read and checked when loaded.
    expect(parseSettingValue('profile', './mine.json', 'x')).toBe('./mine.json');
    expect(parseSettingValue('collector', '[::1]:1', 'x')).toBe('[::1]:1');
  });

  it.each([
    [
      'label',
      'lab 1',
      'label from the SMBIOS OEM string guestbench.label: expected 1 to 64 letters, digits and . _ - = (no spaces, slashes or commas), got "lab 1"',
    ],
    [
      'label',
      'kvm/virtio',
      'label from the SMBIOS OEM string guestbench.label: expected 1 to 64 letters, digits and . _ - = (no spaces, slashes or commas), got "kvm/virtio"',
    ],
    [
      'platform',
      'bochs',
      'platform from the SMBIOS OEM string guestbench.platform: expected auto or one of native, kvm, qemu, vmware, xen, hyperv, other, got "bochs"',
    ],
    ['profile', 'fast', 'profile from the SMBIOS OEM string guestbench.profile: expected one of smoke, quick, standard, full, got "fast"'],
  ] as const)('refuses a %s of %j, naming the source', (name, value, message) => {
    expect(() => parseSettingValue(name, value, `the SMBIOS OEM string guestbench.${name}`)).toThrow(message);
  });
});

describe('parseCollectorAddresses', () => {
  it('takes one address, or several in the order to try them', () => {
    expect(parseCollectorAddresses('10.0.2.2:50051', 'x')).toEqual({
      list: [{ host: '10.0.2.2', port: 50051, address: '10.0.2.2:50051' }],
      address: '10.0.2.2:50051',
    });
    const two = parseCollectorAddresses('a.example:1, [::1]:2', 'x');
    expect(two.list.map((a) => a.address)).toEqual(['a.example:1', '[::1]:2']);
    expect(two.address).toBe('a.example:1,[::1]:2');
  });
  it.each([
    ['a:1,,b:2', 'collector "a:1,,b:2" from env has an empty address at position 2'],
    ['a:1,', 'has an empty address at position 2'],
    ['a:1,a:1', 'lists a:1 twice'],
    ['a:1,b', 'collector from env (address 2): expected HOST:PORT such as 192.0.2.10:50051 or [2001:db8::1]:50051, got "b", which has no port'],
    [Array.from({ length: 17 }, (_, i) => `h${i}:1`).join(','), 'lists 17 addresses; at most 16'],
  ])('rejects %j', (text, message) => {
    expect(() => parseCollectorAddresses(text, 'env')).toThrow(message);
  });
});

describe('parseSettingsObject', () => {
  it('keeps known string settings, trimmed', () => {
    expect(parseSettingsObject({ label: ' lab-1 ', profile: 'smoke' }, 'x')).toEqual({ label: 'lab-1', profile: 'smoke' });
  });
  it('refuses a value its rule refuses, naming the file', () => {
    expect(() => parseSettingsObject({ label: 'lab 1' }, 'config file /etc/guestbench/agent.json')).toThrow(
      'label from config file /etc/guestbench/agent.json: expected 1 to 64 letters, digits and . _ - = (no spaces, slashes or commas), got "lab 1"',
    );
  });
  it('rejects arrays, empty values and spaces in tokens', () => {
    expect(() => parseSettingsObject([], 'f')).toThrow('f: must be a JSON object');
    expect(() => parseSettingsObject({ label: '  ' }, 'f')).toThrow('f: "label" is empty');
    expect(() => parseSettingsObject({ token: 'a b' }, 'f')).toThrow('f: "token" must not contain spaces');
  });
});
