import { parseCollectorAddress, parseCollectorAddresses, parseSettingsObject } from './settings';

describe('parseCollectorAddress', () => {
  it.each([
    ['10.0.2.2:50051', '10.0.2.2', 50051],
    ['collector.lab.example:7443', 'collector.lab.example', 7443],
    [' localhost:1 ', 'localhost', 1],
    ['[::1]:50051', '::1', 50051],
  ])('accepts %j', (text, host, port) => {
    expect(parseCollectorAddress(text, 'test')).toMatchObject({ host, port });
  });

  it.each([
    ['10.0.2.2', 'has no port'],
    [':50051', 'has no host'],
    ['10.0.2.2:', 'has no port'],
    ['10.0.2.2:0', 'has port 0 outside 1-65535'],
    ['10.0.2.2:http', 'has an invalid port "http"'],
    ['::1:50051', 'looks like an IPv6 address without brackets'],
    ['under_score.example:1', 'has an invalid host "under_score.example"'],
    ['http://c.example:1', 'is a URL'],
  ])('rejects %j: %s', (text, why) => {
    expect(() => parseCollectorAddress(text, 'flag --collector')).toThrow(
      `collector ${JSON.stringify(text)} from flag --collector ${why}; expected HOST:PORT`,
    );
  });
});

describe('parseCollectorAddresses', () => {
  it('takes one address, or several in the order to try them', () => {
    expect(parseCollectorAddresses('10.0.2.2:50051', 'x')).toEqual({ list: [{ host: '10.0.2.2', port: 50051, address: '10.0.2.2:50051' }], address: '10.0.2.2:50051' });
    const two = parseCollectorAddresses('a.example:1, [::1]:2', 'x');
    expect(two.list.map((a) => a.address)).toEqual(['a.example:1', '[::1]:2']);
    expect(two.address).toBe('a.example:1,[::1]:2');
  });
  it.each([
    ['a:1,,b:2', 'collector "a:1,,b:2" from env has an empty address at position 2'],
    ['a:1,', 'has an empty address at position 2'],
    ['a:1,a:1', 'lists a:1 twice'],
    ['a:1,b', 'collector "b" from env (address 2) has no port'],
    [Array.from({ length: 17 }, (_, i) => `h${i}:1`).join(','), 'lists 17 addresses; at most 16'],
  ])('rejects %j', (text, message) => {
    expect(() => parseCollectorAddresses(text, 'env')).toThrow(message);
  });
});

describe('parseSettingsObject', () => {
  it('keeps known string settings, trimmed', () => {
    expect(parseSettingsObject({ label: ' lab 1 ', profile: 'smoke' }, 'x')).toEqual({ label: 'lab 1', profile: 'smoke' });
  });
  it('rejects arrays, empty values and spaces in tokens', () => {
    expect(() => parseSettingsObject([], 'f')).toThrow('f: must be a JSON object');
    expect(() => parseSettingsObject({ label: '  ' }, 'f')).toThrow('f: "label" is empty');
    expect(() => parseSettingsObject({ token: 'a b' }, 'f')).toThrow('f: "token" must not contain spaces');
  });
});
