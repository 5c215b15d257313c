// Names of the lab's libvirt domains and overlays. Everything the lab creates carries the prefix,
// so what a crashed lab left behind can be found (and a test can check nothing is).

export const LAB_PREFIX = 'guestbench-lab-';

/** `guestbench-lab-<session>-<NN>`: unique per lab session, sortable by configuration. */
export function guestName(session: string, index: number): string {
  return `${LAB_PREFIX}${session}-${String(index).padStart(2, '0')}`;
}
