// guestbench-lab plan: the domain XML of every configuration, to read, validate or define by hand.
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { configurationSettings } from '../matrix/axes';
import { domainXml } from '../libvirt/domain-xml';
import { guestName } from '../libvirt/guest-name';
import { detectAccelerator } from '../libvirt/host';
import { loadMatrix, resolveBoot } from '../matrix/load-matrix';
import { planGuests } from '../matrix/plan';
import type { Command } from './parse-arguments';

export interface PlannedFile {
  readonly index: number;
  readonly name: string;
  readonly label: string;
  readonly file: string;
  readonly configuration: Record<string, string>;
}

export async function planCommand(cmd: Extract<Command, { command: 'plan' }>, out: (line: string) => void): Promise<number> {
  const accel = detectAccelerator();
  const matrix = await loadMatrix(cmd.matrix, cmd.overrides, accel.accelerator);
  const guests = planGuests(matrix, accel.accelerator);
  const directBoot = resolveBoot(matrix);
  const dir = resolve(cmd.out);
  await mkdir(dir, { recursive: true });
  const files: PlannedFile[] = [];
  for (const g of guests) {
    const name = guestName('plan', g.index);
    const xml = domainXml({
      name,
      config: g.config,
      domainType: accel.domainType,
      disk: { path: `/var/lib/libvirt/images/guestbench-lab/${name}.qcow2`, format: 'qcow2' },
      network: matrix.network,
      oem: { collector: matrix.collector, label: g.label, profile: matrix.profile },
      xmlFragment: matrix.xmlFragments[g.config.xml] ?? '',
      directBoot,
    });
    const file = join(dir, `${name}.xml`);
    await writeFile(file, xml);
    files.push({ index: g.index, name, label: g.label, file, configuration: configurationSettings(g.config) });
  }
  const plan = {
    domainType: accel.domainType,
    boot: directBoot === undefined ? 'disk' : 'kernel',
    whyNotKvm: accel.whyNotKvm,
    image: matrix.image,
    collector: matrix.collector,
    guests: files,
  };
  await writeFile(join(dir, 'plan.json'), `${JSON.stringify(plan, null, 2)}\n`);
  if (cmd.json) out(JSON.stringify(plan, null, 2));
  else {
    out(`domain type ${accel.domainType}${accel.whyNotKvm === undefined ? '' : ` (no KVM: ${accel.whyNotKvm})`}; ${files.length} configuration(s):`);
    for (const f of files) out(`  ${f.file}  ${f.label}`);
    out(`Each disk is an overlay of ${matrix.image} the lab creates at run time (qemu-img create -f qcow2 -F FORMAT -b IMAGE OVERLAY).`);
  }
  return 0;
}
