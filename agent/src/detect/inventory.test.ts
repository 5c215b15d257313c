import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { collectInventory, readClocksource, readCpuFlags } from './inventory';

const FIXTURES = path.join(__dirname, '../../test/fixtures/platform');

describe('collectInventory on the live machine', () => {
  it('describes this machine', async () => {
    const inventory = await collectInventory();
    expect(inventory.cpus).toBeGreaterThan(0);
    expect(Number.isInteger(inventory.cpus)).toBe(true);
    expect(inventory.memoryBytes).toBeGreaterThan(0);
    expect(inventory.kernel).toBe(os.release());
    expect(inventory.hostname).toBe(os.hostname());
    expect(inventory.arch).toBe(os.machine());
    expect(inventory.nodeVersion).toBe(process.version);
    expect(inventory.cpuModel).not.toBe('');
    expect(inventory.os).not.toBe('');
    expect(inventory.clocksource).toBe(readClocksource('/'));
  });

  it('reads clocksource and DMI identity below the given root', async () => {
    const inventory = await collectInventory({ root: path.join(FIXTURES, 'kvm') });
    expect(inventory.clocksource).toBe('kvm-clock');
    expect(inventory.systemVendor).toBe('QEMU');
    expect(inventory.systemModel).toBe('Standard PC (Q35 + ICH9, 2009)');
  });
});

describe('cpu flags and vendor', () => {
  it('records the flags a TCG guest lists in /proc/cpuinfo, not ""', async () => {
    const inventory = await collectInventory({ root: path.join(FIXTURES, 'qemu-tcg') });
    expect(inventory.cpuFlags).toMatch(/^fpu de pse tsc msr pae .* hypervisor /);
    expect(inventory.cpuFlags).not.toMatch(/\s{2}/);
  });

  it('takes arm64 "Features" when there is no x86 "flags" line, and "" when there is no cpuinfo', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'gb-inventory-'));
    try {
      fs.mkdirSync(path.join(root, 'proc'));
      fs.writeFileSync(path.join(root, 'proc/cpuinfo'), 'processor\t: 0\nFeatures\t: fp asimd evtstrm aes\n');
      await expect(readCpuFlags(root)).resolves.toBe('fp asimd evtstrm aes');
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
    await expect(readCpuFlags(path.join(os.tmpdir(), 'guestbench-no-such-root'))).resolves.toBe('');
  });

  it('keeps the vendor of a KVM-based cloud in the inventory', async () => {
    await expect(collectInventory({ root: path.join(FIXTURES, 'kvm-ec2-nitro') })).resolves.toMatchObject({
      systemVendor: 'Amazon EC2',
      systemModel: 'm5.large',
    });
    await expect(collectInventory({ root: path.join(FIXTURES, 'kvm-gce') })).resolves.toMatchObject({
      systemVendor: 'Google',
      systemModel: 'Google Compute Engine',
    });
  });
});

describe('readClocksource', () => {
  it.each([
    ['kvm', 'kvm-clock'],
    ['qemu-tcg', 'hpet'],
    ['xen-hvm', 'xen'],
    ['hyperv', 'hyperv_clocksource_tsc_page'],
    ['bare-metal', 'tsc'],
  ])('%s uses %s', (name, clocksource) => {
    expect(readClocksource(path.join(FIXTURES, name))).toBe(clocksource);
  });

  it('is empty when the file cannot be read', () => {
    expect(readClocksource(path.join(os.tmpdir(), 'guestbench-no-such-root'))).toBe('');
  });
});
