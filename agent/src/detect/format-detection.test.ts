import path from 'node:path';
import { detectPlatform } from './detect-platform';
import { formatDetection } from './format-detection';

const FIXTURES = path.join(__dirname, '../../test/fixtures/platform');

describe('formatDetection', () => {
  it('shows the platform, then each observation with its value and what it suggests', async () => {
    const lines = formatDetection(await detectPlatform({ root: path.join(FIXTURES, 'kvm') }));
    expect(lines[0]).toBe('platform: kvm');
    expect(lines).toHaveLength(1 + 9);
    expect(lines[1]).toMatch(/^ {2}\/var\/log\/dmesg +"Hypervisor detected: KVM" +→ kvm$/);
    expect(lines[2]).toMatch(/^ {2}\/sys\/class\/dmi\/id\/sys_vendor +"QEMU" +→ qemu$/);
    // An observation that points nowhere has no arrow.
    expect(lines).toContainEqual(expect.stringMatching(/^ {2}\/proc\/cpuinfo +"flags: hypervisor"$/));
    // Values line up in one column.
    const valueColumns = new Set(lines.slice(1).map((l) => l.indexOf('"')));
    expect(valueColumns.size).toBe(1);
  });

  it('says so when there is no evidence', () => {
    expect(formatDetection({ platform: 'other', evidence: [] })).toEqual([
      'platform: other',
      '  no evidence: nothing that identifies a platform could be read',
    ]);
  });
});
