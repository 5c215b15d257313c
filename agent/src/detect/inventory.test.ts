import os from 'node:os';
import path from 'node:path';
import { collectInventory, readClocksource } from './inventory';

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
