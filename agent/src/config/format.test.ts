import { configToJson, formatResolvedConfig, maskToken } from './format';
import type { ResolvedConfig } from './resolve';

const config: ResolvedConfig = {
  collector: { value: { list: [{ host: '10.0.2.2', port: 50051, address: '10.0.2.2:50051' }], address: '10.0.2.2:50051' }, source: 'smbios' },
  token: { value: 'secret-token-abcd1234', source: 'file:/etc/guestbench/agent.json' },
  profile: { value: 'smoke', source: 'env' },
  sources: [
    { source: 'file', status: 'found', detail: '/etc/guestbench/agent.json: token' },
    { source: 'smbios', status: 'found', detail: 'collector' },
    { source: 'xenstore', status: 'absent', detail: 'xenstore-read not on PATH' },
  ],
};

describe('config --show output', () => {
  it('never prints a token whole', () => {
    expect(maskToken('secret-token-abcd1234')).toBe('****1234');
    expect(maskToken('short')).toBe('****');
    const text = formatResolvedConfig(config);
    const json = JSON.stringify(configToJson(config));
    for (const out of [text, json]) expect(out).not.toContain('secret-token');
  });

  it('shows each setting with its value and source, then what each place said', () => {
    expect(formatResolvedConfig(config).split('\n')).toEqual([
      'SETTING    VALUE           SOURCE',
      'collector  10.0.2.2:50051  smbios',
      'token      ****1234        file:/etc/guestbench/agent.json',
      'label      -               (not set)',
      'platform   -               (not set)',
      'profile    smoke           env',
      '',
      'consulted:',
      '  file      found    /etc/guestbench/agent.json: token',
      '  smbios    found    collector',
      '  xenstore  absent   xenstore-read not on PATH',
      '',
    ]);
    expect(configToJson(config)).toMatchObject({
      settings: { collector: { value: '10.0.2.2:50051', source: 'smbios' }, label: null, token: { value: '****1234' } },
    });
  });
});
