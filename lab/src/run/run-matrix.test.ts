import { schedule } from './run-matrix';
import { planGuests } from '../matrix/plan';
import { parseMatrix } from '../matrix/parse-matrix';
import { hostSideAddress } from '../cli/run-command';
import { parseArguments } from '../cli/parse-arguments';

const guests = planGuests(parseMatrix('image: a\ncollector: h:1\naxes: {disk_bus: [virtio-blk, sata], nic: [virtio, e1000]}'), 'tcg');

describe('schedule', () => {
  it('runs every guest each repetition and as many native runs, in an order fixed by the seed', () => {
    const a = schedule(guests, 2, true, 7);
    expect(a).toHaveLength(16);
    expect(a.filter((t) => t.kind === 'native')).toHaveLength(8);
    for (const g of guests) expect(a.filter((t) => t.kind === 'guest' && t.guest.label === g.label)).toHaveLength(2);
    const names = (ts: typeof a): string[] => ts.map((t) => (t.kind === 'guest' ? `${t.guest.label}#${t.repetition}` : `native#${t.repetition}`));
    expect(names(schedule(guests, 2, true, 7))).toEqual(names(a));
    expect(names(schedule(guests, 2, true, 8))).not.toEqual(names(a));
    // interleaved, not all native runs first or last
    const firstNative = a.findIndex((t) => t.kind === 'native');
    const lastNative = a.length - 1 - [...a].reverse().findIndex((t) => t.kind === 'native');
    expect(a.slice(firstNative, lastNative + 1).some((t) => t.kind === 'guest')).toBe(true);
  });

  it('has no native runs when the matrix says native: false', () => {
    expect(schedule(guests, 1, false, 1).every((t) => t.kind === 'guest')).toBe(true);
  });
});

describe('command line', () => {
  it("maps QEMU user networking's host address to loopback for the lab itself", () => {
    expect(hostSideAddress('10.0.2.2:50051')).toBe('127.0.0.1:50051');
    expect(hostSideAddress('192.168.122.1:50051')).toBe('192.168.122.1:50051');
  });

  it('parses run, plan and bake, and refuses what does not fit with a clear line', () => {
    expect(parseArguments(['run', 'm.yaml'])).toMatchObject({ command: 'run', matrix: { kind: 'file', path: 'm.yaml' }, uri: 'qemu:///system' });
    expect(parseArguments(['run', '--builtin', 'study-2009', '--collector', '10.0.2.2:1'])).toMatchObject({
      matrix: { kind: 'builtin', name: 'study-2009' },
      overrides: { collector: '10.0.2.2:1' },
    });
    expect(parseArguments(['bake', 'i.qcow2', '--out', 'c.qcow2'])).toMatchObject({ command: 'bake', image: 'i.qcow2', out: 'c.qcow2' });
    expect(() => parseArguments(['fly'])).toThrow(/unknown command "fly"; use plan, run or bake/);
    expect(() => parseArguments(['plan', 'm.yaml'])).toThrow(/plan needs --out DIR/);
    expect(() => parseArguments(['run', 'm.yaml', '--grpc', 'nohost'])).toThrow(/--grpc must be HOST:PORT, got "nohost"/);
    expect(() => parseArguments(['run', 'm.yaml', '--builtin', 'study-2009'])).toThrow(/not both/);
    expect(() => parseArguments(['run', 'm.yaml', '--out', 'x'])).toThrow(/--out does not apply to run/);
    expect(() => parseArguments(['run', 'm.yaml', '--uri', 'xen:///'])).toThrow(/--uri must be a libvirt QEMU URI/);
    expect(() => parseArguments(['bake'])).toThrow(/bake takes one IMAGE, got 0/);
  });
});
