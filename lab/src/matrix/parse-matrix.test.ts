import { parseMatrix, isMatrixError } from './parse-matrix';
import { planGuests } from './plan';

const ISSUE_EXAMPLE = `image: /var/cache/guestbench/images/guestbench-debian12.qcow2
collector: 10.0.2.2:50051
profile: smoke
repetitions: 1
seed: 7
axes:
  disk_bus: [virtio-blk, sata]
  nic: [virtio, e1000]
`;

function problems(text: string): string[] {
  try {
    parseMatrix(text, 'm.yaml');
  } catch (err: unknown) {
    if (isMatrixError(err)) return [...err.problems];
    throw err;
  }
  throw new Error('expected the matrix to be refused');
}

describe('parseMatrix', () => {
  it('reads the example of the issue as written: the product of its axes', () => {
    const m = parseMatrix(ISSUE_EXAMPLE, 'm.yaml');
    expect(m).toMatchObject({
      image: '/var/cache/guestbench/images/guestbench-debian12.qcow2',
      collector: '10.0.2.2:50051',
      profile: 'smoke',
      repetitions: 1,
      seed: 7,
    });
    expect(m.configurations).toEqual([
      { disk_bus: 'virtio-blk', nic: 'virtio' },
      { disk_bus: 'virtio-blk', nic: 'e1000' },
      { disk_bus: 'sata', nic: 'virtio' },
      { disk_bus: 'sata', nic: 'e1000' },
    ]);
    expect(m.varied).toEqual(['disk_bus', 'nic']);
    const guests = planGuests(m, 'tcg');
    expect(guests.map((g) => g.label)).toEqual(['disk=virtio-blk.nic=virtio', 'disk=virtio-blk.nic=e1000', 'disk=sata.nic=virtio', 'disk=sata.nic=e1000']);
    // axes the matrix leaves alone get the defaults for the accelerator
    expect(guests[3]!.config).toMatchObject({ cpu_model: 'maximum', vcpus: 2, memory: 1024, machine: 'q35', disk_cache: 'none', xml: '' });
    expect(planGuests(m, 'kvm')[0]!.config.cpu_model).toBe('host-passthrough');
  });

  it('takes an explicit list, xml fragments by name, and every axis', () => {
    const m = parseMatrix(`image: a.qcow2
collector: 192.168.122.1:50051
network: network:default
axes:
  xml:
    plain: ""
    iothread: "<iothreads>1</iothreads>"
configurations:
  - {cpu_model: qemu64, vcpus: 1, memory: 512, hugepages: false, machine: pc, disk_bus: ide, disk_cache: writeback, nic: e1000e, xml: plain}
  - {cpu_model: qemu64, vcpus: 1, memory: 512, hugepages: false, machine: pc, disk_bus: virtio-scsi, disk_cache: writeback, nic: e1000e, xml: iothread}
`);
    expect(m.network).toEqual({ kind: 'network', name: 'default' });
    expect(m.varied).toEqual(['disk_bus', 'xml']);
    expect(m.xmlFragments['iothread']).toBe('<iothreads>1</iothreads>');
    expect(planGuests(m, 'tcg').map((g) => g.label)).toEqual(['disk=ide.xml=plain', 'disk=virtio-scsi.xml=iothread']);
  });

  it('names the line of each mistake and what would be right', () => {
    const p = problems(`image: a.qcow2
collector: 10.0.2.2
repetitions: 0
axes:
  disk_bus: [virtio-blk, scsi]
  nic: []
  colour: [red]
`);
    expect(p).toEqual([
      'm.yaml:2: collector: "10.0.2.2" is not HOST:PORT (for example 10.0.2.2:50051)',
      'm.yaml:3: repetitions: 0 must be a whole number from 1 to 1000',
      'm.yaml:5: axes.disk_bus: "scsi" is not a disk bus; use one of virtio-blk, virtio-scsi, sata, ide',
      expect.stringMatching(/^m\.yaml:6: axes\.nic must be a list of values/),
      expect.stringMatching(/^m\.yaml:7: unknown axis "colour"; the axes are cpu_model, /),
    ]);
  });

  it('refuses YAML that is not a matrix, missing keys, unknown keys and bad fragments', () => {
    expect(problems('image: [')[0]).toMatch(/^m\.yaml:1: not valid YAML/);
    expect(problems('')[0]).toMatch(/a matrix is a mapping/);
    expect(problems('axes: {nic: [virtio]}')).toEqual([
      expect.stringMatching(/^m\.yaml: image is missing/),
      expect.stringMatching(/^m\.yaml: collector is missing/),
    ]);
    expect(problems('image: a\ncollector: h:1\ncolor: 1\naxes: {nic: [virtio]}')).toEqual([expect.stringMatching(/^m\.yaml:3: unknown key "color"/)]);
    expect(problems('image: a\ncollector: h:1\naxes:\n  xml: {evil: "<name>x</name>"}')).toEqual([
      expect.stringMatching(/^m\.yaml:4: axes\.xml\.evil: may not set <domain>, <name>/),
    ]);
    expect(problems('image: a\ncollector: h:1\naxes:\n  xml: {open: "<iothreads>1"}')).toEqual([expect.stringMatching(/not well-formed/)]);
    expect(problems('image: a\ncollector: h:1\naxes: {nic: [virtio, virtio]}')).toEqual([expect.stringMatching(/virtio is listed twice/)]);
    expect(problems('image: a\ncollector: h:1\nconfigurations:\n  - {nic: virtio}\n  - {nic: virtio}')[0]).toMatch(/two configurations are the same/);
    expect(problems('image: a\ncollector: h:1\nnetwork: nat')[0]).toMatch(/^m\.yaml:3: network: "nat" is not user, network:NAME or bridge:NAME/);
  });

  it('refuses a configuration the accelerator or machine cannot run, before anything starts', () => {
    const m = parseMatrix('image: a\ncollector: h:1\nconfigurations:\n  - {cpu_model: host-passthrough}\n  - {disk_bus: ide}');
    expect(() => planGuests(m, 'tcg')).toThrow(
      /configuration 1 \(cpu=host-passthrough.disk=virtio-blk\): cpu_model host-passthrough needs KVM[\s\S]*configuration 2 .*disk_bus ide needs an i440FX machine/,
    );
  });
});
