// A stable agent id for this machine: the hostname plus the start of /etc/machine-id, so
// that restarts and reinstalls of the agent keep reporting as the same agent.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export function agentIdFor(hostname: string, machineId: string | undefined): string {
  const host =
    hostname
      .replace(/[^A-Za-z0-9._-]/g, '-')
      .replace(/^[^A-Za-z0-9]+/, '')
      .slice(0, 100) || 'host';
  const suffix = (machineId ?? '')
    .trim()
    .replace(/[^A-Za-z0-9]/g, '')
    .slice(0, 12);
  return suffix === '' ? host : `${host}-${suffix}`;
}

export function localAgentId(root = '/'): string {
  let machineId: string | undefined;
  for (const file of ['etc/machine-id', 'var/lib/dbus/machine-id']) {
    try {
      machineId = fs.readFileSync(path.join(root, file), 'utf8');
      break;
    } catch {
      // try the next place
    }
  }
  return agentIdFor(os.hostname(), machineId);
}
