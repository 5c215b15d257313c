// Matrices that ship with the lab, written as matrix files so they go through the same parser.

/**
 * study-2009: the seed study's question for this host. A tuned guest (virtio disk and NIC, the
 * host's CPU) against a guest on default emulated devices (SATA disk, e1000 NIC, the generic
 * qemu64 CPU), both against native runs on the host. Under TCG "the host's CPU" is `maximum`,
 * everything TCG can emulate: host-passthrough needs KVM.
 */
export function builtinMatrixText(name: string, accelerator: 'kvm' | 'tcg'): string | undefined {
  switch (name) {
    case 'study-2009': {
      const hostCpu = accelerator === 'kvm' ? 'host-passthrough' : 'maximum';
      return `# study-2009: tuned guest vs default devices, both against native
image: /var/cache/guestbench/images/guestbench-debian12.qcow2
collector: 10.0.2.2:50051
profile: smoke
repetitions: 1
seed: 2009
configurations:
  - {cpu_model: ${hostCpu}, disk_bus: virtio-blk, nic: virtio}
  - {cpu_model: qemu64, disk_bus: sata, nic: e1000}
`;
    }
    default:
      return undefined;
  }
}

export const BUILTIN_MATRICES = ['study-2009'] as const;
