// One libvirt domain XML per configuration: the guest the lab defines, starts and throws away.
// The collector's address, token and label reach the agent as SMBIOS OEM strings (what the agent
// reads first); fw_cfg tells the image to power off when its run has ended.
import type { Configuration } from '../matrix/axes';
import type { DirectBoot } from './direct-boot';

/** How the guest reaches the network (and the collector). */
export type GuestNetwork = { readonly kind: 'user' } | { readonly kind: 'network'; readonly name: string } | { readonly kind: 'bridge'; readonly name: string };

export interface DomainSpec {
  readonly name: string;
  readonly config: Configuration;
  /** libvirt domain type: `kvm` with a usable /dev/kvm, else `qemu` (TCG). */
  readonly domainType: 'kvm' | 'qemu';
  /** The guest's disk: the overlay the lab made for this run. */
  readonly disk: { readonly path: string; readonly format: 'qcow2' | 'raw' | 'vmdk' };
  readonly network: GuestNetwork;
  /** SMBIOS OEM strings guestbench.KEY=VALUE (collector, token, label, profile). */
  readonly oem: Readonly<Record<string, string>>;
  /** The raw fragment the configuration's `xml` axis names ("" for none). */
  readonly xmlFragment: string;
  /** Boot this kernel and initrd instead of the disk's boot loader. */
  readonly directBoot?: DirectBoot;
  /** Where virtlogd writes the serial console, when wanted. */
  readonly serialLog?: string;
}

export class DomainSpecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DomainSpecError';
  }
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/'/g, '&apos;').replace(/"/g, '&quot;');

/**
 * Why this configuration cannot run with this domain type, or undefined. Checked before any
 * domain is defined, so a matrix fails on its first line of output instead of midway.
 */
export function configurationProblem(config: Configuration, domainType: 'kvm' | 'qemu'): string | undefined {
  if (config.disk_bus === 'ide' && /q35/.test(config.machine)) {
    return `disk_bus ide needs an i440FX machine (machine: pc); q35 has no IDE controller`;
  }
  if (domainType === 'qemu' && (config.cpu_model === 'host-passthrough' || config.cpu_model === 'host-model')) {
    return `cpu_model ${config.cpu_model} needs KVM; without it use maximum (all TCG can give) or a named model such as qemu64`;
  }
  return undefined;
}

function cpuXml(model: string): string {
  switch (model) {
    case 'host-passthrough':
      return `<cpu mode='host-passthrough' check='none' migratable='on'/>`;
    case 'host-model':
      return `<cpu mode='host-model' check='none'/>`;
    case 'maximum':
      return `<cpu mode='maximum' check='none'/>`;
    default:
      return `<cpu mode='custom' match='exact' check='none'>\n    <model fallback='forbid'>${esc(model)}</model>\n  </cpu>`;
  }
}

function diskXml(spec: DomainSpec): string {
  const c = spec.config;
  const cache = c.disk_cache === 'default' ? '' : ` cache='${c.disk_cache}'`;
  const target = {
    'virtio-blk': `<target dev='vda' bus='virtio'/>`,
    'virtio-scsi': `<target dev='sda' bus='scsi'/>`,
    sata: `<target dev='sda' bus='sata'/>`,
    ide: `<target dev='hda' bus='ide'/>`,
  }[c.disk_bus];
  const controller = c.disk_bus === 'virtio-scsi' ? `\n    <controller type='scsi' index='0' model='virtio-scsi'/>` : '';
  return `<disk type='file' device='disk'>
      <driver name='qemu' type='${spec.disk.format}'${cache}/>
      <source file='${esc(spec.disk.path)}'/>
      ${target}
      <boot order='1'/>
    </disk>${controller}`;
}

function interfaceXml(spec: DomainSpec): string {
  const n = spec.network;
  const head =
    n.kind === 'user'
      ? `<interface type='user'>`
      : n.kind === 'network'
        ? `<interface type='network'>\n      <source network='${esc(n.name)}'/>`
        : `<interface type='bridge'>\n      <source bridge='${esc(n.name)}'/>`;
  // No option ROM: nothing boots from the network, and loading one costs seconds under TCG.
  return `${head}
      <model type='${spec.config.nic}'/>
      <rom enabled='no'/>
    </interface>`;
}

/** The domain XML for one configuration. Throws DomainSpecError for an impossible one. */
export function domainXml(spec: DomainSpec): string {
  const problem = configurationProblem(spec.config, spec.domainType);
  if (problem !== undefined) throw new DomainSpecError(problem);
  const c = spec.config;
  const oem = Object.entries(spec.oem)
    .map(([k, v]) => `      <entry>guestbench.${esc(k)}=${esc(v)}</entry>`)
    .join('\n');
  const devicesFragment = /^\s*<devices>([\s\S]*)<\/devices>\s*$/.exec(spec.xmlFragment);
  const domainFragment = devicesFragment === null ? spec.xmlFragment.trim() : '';
  const serial =
    spec.serialLog === undefined
      ? `<serial type='pty'>\n      <target port='0'/>\n    </serial>`
      : `<serial type='pty'>\n      <log file='${esc(spec.serialLog)}' append='off'/>\n      <target port='0'/>\n    </serial>`;
  return `<domain type='${spec.domainType}'>
  <name>${esc(spec.name)}</name>
  <description>guestbench lab guest; removed when its run ends</description>
  <memory unit='MiB'>${c.memory}</memory>
  <vcpu placement='static'>${c.vcpus}</vcpu>${c.hugepages ? `\n  <memoryBacking>\n    <hugepages/>\n  </memoryBacking>` : ''}
  <sysinfo type='smbios'>
    <oemStrings>
${oem}
    </oemStrings>
  </sysinfo>
  <sysinfo type='fwcfg'>
    <entry name='opt/org.guestbench/poweroff'>1</entry>
  </sysinfo>
  <os>
    <type arch='x86_64' machine='${esc(c.machine)}'>hvm</type>${
      spec.directBoot === undefined
        ? ''
        : `
    <kernel>${esc(spec.directBoot.kernel)}</kernel>
    <initrd>${esc(spec.directBoot.initrd)}</initrd>
    <cmdline>${esc(spec.directBoot.cmdline)}</cmdline>`
    }
    <smbios mode='sysinfo'/>
  </os>
  <features>
    <acpi/>
    <apic/>
  </features>
  ${cpuXml(c.cpu_model)}
  <clock offset='utc'/>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>destroy</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    ${diskXml(spec)}
    ${interfaceXml(spec)}
    ${serial}
    <console type='pty'>
      <target type='serial' port='0'/>
    </console>
    <rng model='virtio'>
      <backend model='random'>/dev/urandom</backend>
    </rng>
    <memballoon model='none'/>${devicesFragment === null ? '' : `\n    ${devicesFragment[1]!.trim()}`}
  </devices>${domainFragment === '' ? '' : `\n  ${domainFragment}`}
</domain>
`;
}
