// guestbench-lab plan: every domain XML it writes must pass libvirt's own schema check
// (virt-xml-validate), for every value of every axis and for the built-in matrix.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { planCommand } from '../src/cli/plan-command';
import { parseArguments } from '../src/cli/parse-arguments';

const CI = process.env['CI'] === 'true';

function validate(file: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile('virt-xml-validate', [file, 'domain'], (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 127, output: stdout + stderr });
    });
  });
}

let dir: string;
let skip: string | undefined;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lab-plan-'));
  const probe = await validate('/dev/null');
  if (probe.code === 127 || /xmllint: not found/.test(probe.output)) {
    skip = 'virt-xml-validate (libvirt-clients, libxml2-utils) is not installed: bash scripts/ensure-libvirt.sh installs it';
    if (CI) throw new Error(skip);
    console.warn(`\n*** SKIPPING the virt-xml-validate checks: ${skip}\n`);
  }
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function plan(args: string[]): Promise<{ guests: { file: string; label: string; configuration: Record<string, string> }[] }> {
  const cmd = parseArguments(['plan', ...args, '--out', join(dir, String(Math.random()).slice(2))]);
  if (cmd.command !== 'plan') throw new Error('expected plan');
  const lines: string[] = [];
  expect(await planCommand({ ...cmd, json: true }, (l) => lines.push(l))).toBe(0);
  return JSON.parse(lines.join('\n')) as { guests: { file: string; label: string; configuration: Record<string, string> }[] };
}

test("every value of every axis gives a domain that libvirt's schema accepts", async () => {
  if (skip !== undefined) return;
  const matrix = join(dir, 'all.yaml');
  writeFileSync(
    matrix,
    `image: /var/cache/guestbench/images/guestbench-debian12.qcow2
collector: 10.0.2.2:50051
axes:
  xml:
    none: ""
    iothreads: "<iothreads>2</iothreads>"
    watchdog: |
      <devices>
        <watchdog model='i6300esb' action='poweroff'/>
      </devices>
configurations:
  - {disk_bus: virtio-blk, nic: virtio, disk_cache: none, cpu_model: maximum, xml: none}
  - {disk_bus: virtio-scsi, nic: e1000e, disk_cache: writeback, cpu_model: qemu64, xml: iothreads}
  - {disk_bus: sata, nic: e1000, disk_cache: writethrough, cpu_model: Skylake-Client, hugepages: true, xml: watchdog}
  - {disk_bus: ide, machine: pc, nic: rtl8139, disk_cache: directsync, vcpus: 1, memory: 512, xml: none}
  - {disk_bus: sata, disk_cache: unsafe, xml: none}
  - {disk_bus: sata, disk_cache: default, xml: none}
`,
  );
  const p = await plan([matrix]);
  expect(p.guests).toHaveLength(6);
  for (const g of p.guests) {
    const r = await validate(g.file);
    if (r.code !== 0) throw new Error(`${g.label}: ${r.output}\n${readFileSync(g.file, 'utf8')}`);
  }
  const scsi = readFileSync(p.guests[1]!.file, 'utf8');
  expect(scsi).toContain(`<controller type='scsi' index='0' model='virtio-scsi'/>`);
  expect(scsi).toContain('<iothreads>2</iothreads>');
  expect(readFileSync(p.guests[2]!.file, 'utf8')).toMatch(/<devices>[\s\S]*<watchdog model='i6300esb'[\s\S]*<\/devices>/);
  expect(readFileSync(p.guests[5]!.file, 'utf8')).toMatch(/<driver name='qemu' type='qcow2'\/>/);
});

test('the built-in study-2009 plans a tuned and a default-device guest that validate', async () => {
  if (skip !== undefined) return;
  const p = await plan(['--builtin', 'study-2009']);
  expect(p.guests.map((g) => g.configuration['disk_bus'])).toEqual(['virtio-blk', 'sata']);
  expect(p.guests.map((g) => g.configuration['nic'])).toEqual(['virtio', 'e1000']);
  expect(p.guests[1]!.configuration['cpu_model']).toBe('qemu64');
  for (const g of p.guests) expect((await validate(g.file)).code).toBe(0);
});
