// The hypervisor channels (docs/architecture.md, "Settings"): each reads what the host put there for the settings
// still missing, and says what it found (or why it found nothing) for `config --show`.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { firstLine } from '../detect/run-process';
import type { Deadline } from '../detect/run-process';
import { COMMAND_TIMEOUT_MS, type CommandResult, type RunCommand } from './run-command';
import { ConfigError, parseSettingsObject, SETTING_NAMES, type AgentSettings, type ChannelName, type SettingName } from './settings';
import { readOemStrings } from './smbios';

/** What one channel gave. Values are raw text; the resolver validates the one it picks. */
export interface ChannelReading {
  readonly channel: ChannelName;
  /** `found`: gave at least one setting; `empty`: reachable, nothing for us; `absent`: not on this system. */
  readonly status: 'found' | 'empty' | 'absent' | 'skipped' | 'error';
  readonly settings: AgentSettings;
  readonly detail: string;
}

export interface ChannelContext {
  readonly root: string;
  readonly env: NodeJS.ProcessEnv;
  readonly runCommand: RunCommand;
  /** Settings nobody higher up gave; a channel only looks for these. */
  readonly wanted: readonly SettingName[];
  /** Shared by every tool run of one resolution, so that together they stay within its budget. */
  readonly deadline?: Deadline;
}

/** Prefix of our SMBIOS OEM strings: `guestbench.collector=HOST:PORT`. */
export const OEM_STRING_PREFIX = 'guestbench.';
/** QEMU fw_cfg item name (`-fw_cfg name=opt/org.guestbench/config,file=agent.json`). */
export const FW_CFG_NAME = 'opt/org.guestbench/config';
/** VMware guestinfo keys are `guestinfo.guestbench.<setting>`. */
export const GUESTINFO_PREFIX = 'guestinfo.guestbench.';
/** Xen keys are `vm-data/guestbench/<setting>`, relative to the domain's xenstore home. */
export const XENSTORE_PREFIX = 'vm-data/guestbench/';

function reading(channel: ChannelName, settings: AgentSettings, nothing: string): ChannelReading {
  const names = SETTING_NAMES.filter((n) => settings[n] !== undefined);
  return names.length > 0 ? { channel, status: 'found', settings, detail: names.join(', ') } : { channel, status: 'empty', settings, detail: nothing };
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Settings from `guestbench.<name>=<value>` OEM strings; other OEM strings are left alone. */
export function settingsFromOemStrings(strings: readonly string[]): AgentSettings {
  const settings: AgentSettings = {};
  const known = new Set<string>(SETTING_NAMES);
  for (const s of strings) {
    if (!s.startsWith(OEM_STRING_PREFIX)) continue;
    const eq = s.indexOf('=');
    if (eq < 0) continue;
    const name = s.slice(OEM_STRING_PREFIX.length, eq);
    // The first occurrence wins, as with every other channel.
    if (known.has(name) && settings[name as SettingName] === undefined) settings[name as SettingName] = s.slice(eq + 1);
  }
  return settings;
}

export async function readSmbios(ctx: ChannelContext): Promise<ChannelReading> {
  let strings: string[] | undefined;
  try {
    strings = await readOemStrings(ctx.root);
  } catch (err) {
    return { channel: 'smbios', status: 'error', settings: {}, detail: messageOf(err) };
  }
  if (strings === undefined) return { channel: 'smbios', status: 'absent', settings: {}, detail: 'no DMI tables in sysfs' };
  return reading('smbios', settingsFromOemStrings(strings), `${strings.length} OEM string(s), none guestbench.*`);
}

/**
 * fw_cfg carries the same JSON object as /etc/guestbench/agent.json. A malformed blob is an
 * error, like a malformed config file: the operator wrote it and should hear about it.
 */
export async function readFwCfg(ctx: ChannelContext): Promise<ChannelReading> {
  const file = join(ctx.root, 'sys/firmware/qemu_fw_cfg/by_name', FW_CFG_NAME, 'raw');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return { channel: 'fw_cfg', status: 'absent', settings: {}, detail: `no ${FW_CFG_NAME}` };
    return { channel: 'fw_cfg', status: 'error', settings: {}, detail: messageOf(err) };
  }
  const where = `fw_cfg ${FW_CFG_NAME}`;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`${where}: not valid JSON (${messageOf(err)})`, { cause: err });
  }
  return reading('fw_cfg', parseSettingsObject(parsed, where), 'empty object');
}

/** `oe:key`/`oe:value` pairs of the OVF environment XML VMware hands a vApp's guest. */
export function ovfEnvironmentProperties(xml: string): Map<string, string> {
  const props = new Map<string, string>();
  for (const m of xml.matchAll(/<(?:\w+:)?Property\b([^>]*)\/?>/g)) {
    const attrs = m[1] ?? '';
    const key = /\bkey\s*=\s*"([^"]*)"/.exec(attrs)?.[1];
    const value = /\bvalue\s*=\s*"([^"]*)"/.exec(attrs)?.[1];
    if (key !== undefined && value !== undefined) props.set(unescapeXml(key), unescapeXml(value));
  }
  return props;
}

function unescapeXml(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#\d+|lt|gt|quot|apos|amp);/g, (_, e: string) => {
    switch (e) {
      case 'lt':
        return '<';
      case 'gt':
        return '>';
      case 'quot':
        return '"';
      case 'apos':
        return "'";
      case 'amp':
        return '&';
      default:
        return String.fromCodePoint(e.startsWith('#x') ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10));
    }
  });
}

/**
 * Why a tool's run is a failure (it timed out, crashed, could not start, or exited with a
 * status that is not the tool's "no such key"), or undefined when it answered.
 */
export function toolFailure(
  tool: string,
  r: Extract<CommandResult, { found: true }>,
  notSet: (r: Extract<CommandResult, { found: true }>) => boolean,
  deadline?: Deadline,
): string | undefined {
  if (r.timedOut) {
    const why = deadline !== undefined && deadline.remainingMs() === 0 ? `budget of ${deadline.budgetMs} ms spent` : `after ${COMMAND_TIMEOUT_MS} ms`;
    return `${tool} timed out, ${why}; its process group was killed`;
  }
  if (r.startError !== undefined) return `${tool} could not start: ${r.startError}`;
  const stderr = firstLine(r.stderr);
  if (r.signal !== null) return `${tool} killed by ${r.signal}${stderr ? `: ${stderr}` : ''}`;
  if (r.exitCode === 0 || notSet(r)) return undefined;
  return `${tool} exit ${r.exitCode ?? '?'}${stderr ? `: ${stderr}` : ''}`;
}

/**
 * VMware guestinfo: `guestinfo.guestbench.<name>` set in the .vmx / by govc, or, for an OVF
 * deployed with vApp properties, the same keys inside `guestinfo.ovfEnv`. An unset key makes
 * vmware-rpctool exit 1 with "No value found"; any other failure is an error, not "not set".
 */
export async function readVmwareGuestinfo(ctx: ChannelContext): Promise<ChannelReading> {
  const tool = 'vmware-rpctool';
  const notSet = (r: { exitCode: number | null; stderr: string }): boolean => r.exitCode === 1 && /No value found/i.test(r.stderr);
  const settings: AgentSettings = {};
  for (const name of ctx.wanted) {
    const r = await ctx.runCommand(tool, [`info-get ${GUESTINFO_PREFIX}${name}`], ctx.env, ctx.deadline);
    if (!r.found) return { channel: 'vmware-guestinfo', status: 'absent', settings: {}, detail: `${tool} not on PATH` };
    // Outside VMware the tool exits 255 ("must be run inside a virtual machine on a VMware
    // hypervisor product"). Ask no more after that.
    if (!r.timedOut && r.signal === null && (r.exitCode === 255 || /must be run inside a virtual machine/.test(r.stderr))) {
      return { channel: 'vmware-guestinfo', status: 'absent', settings: {}, detail: `not a VMware VM (${firstLine(r.stderr) || `${tool} exit 255`})` };
    }
    const failure = toolFailure(tool, r, notSet, ctx.deadline);
    if (failure !== undefined) return { channel: 'vmware-guestinfo', status: 'error', settings, detail: `${failure} (asking for ${GUESTINFO_PREFIX}${name})` };
    const value = r.stdout.trim();
    if (r.exitCode === 0 && value !== '') settings[name] = value;
  }
  const missing = ctx.wanted.filter((n) => settings[n] === undefined);
  if (missing.length > 0) {
    const r = await ctx.runCommand(tool, ['info-get guestinfo.ovfEnv'], ctx.env, ctx.deadline);
    if (r.found) {
      const failure = toolFailure(tool, r, notSet, ctx.deadline);
      if (failure !== undefined) return { channel: 'vmware-guestinfo', status: 'error', settings, detail: `${failure} (asking for guestinfo.ovfEnv)` };
      if (r.exitCode === 0 && r.stdout.includes('Property')) {
        const props = ovfEnvironmentProperties(r.stdout);
        for (const name of missing) {
          const value = props.get(`${GUESTINFO_PREFIX}${name}`)?.trim();
          if (value) settings[name] = value;
        }
      }
    }
  }
  return reading('vmware-guestinfo', settings, 'no guestinfo.guestbench.* keys');
}

/**
 * Xen: `vm-data/guestbench/<name>` keys under the domain's xenstore home. A missing key makes
 * xenstore-read exit 1 with "couldn't read path"; outside Xen it cannot open the store
 * ("xs_open: No such file or directory"). Anything else, a refused store included, is an error.
 */
export async function readXenstore(ctx: ChannelContext): Promise<ChannelReading> {
  const tool = 'xenstore-read';
  const notSet = (r: { exitCode: number | null; stderr: string }): boolean => r.exitCode === 1 && /couldn't read path/.test(r.stderr);
  const settings: AgentSettings = {};
  for (const name of ctx.wanted) {
    const r = await ctx.runCommand(tool, [`${XENSTORE_PREFIX}${name}`], ctx.env, ctx.deadline);
    if (!r.found) return { channel: 'xenstore', status: 'absent', settings: {}, detail: `${tool} not on PATH` };
    if (!r.timedOut && r.signal === null && r.exitCode !== 0 && /xs_open: (No such file or directory|ENOENT)/.test(r.stderr)) {
      return { channel: 'xenstore', status: 'absent', settings: {}, detail: `not a Xen guest (${firstLine(r.stderr)})` };
    }
    const failure = toolFailure(tool, r, notSet, ctx.deadline);
    if (failure !== undefined) return { channel: 'xenstore', status: 'error', settings, detail: `${failure} (asking for ${XENSTORE_PREFIX}${name})` };
    const value = r.stdout.trim();
    if (r.exitCode === 0 && value !== '') settings[name] = value;
  }
  return reading('xenstore', settings, `no ${XENSTORE_PREFIX}* keys`);
}

export const CHANNEL_READERS: Readonly<Record<ChannelName, (ctx: ChannelContext) => Promise<ChannelReading>>> = {
  smbios: readSmbios,
  fw_cfg: readFwCfg,
  'vmware-guestinfo': readVmwareGuestinfo,
  xenstore: readXenstore,
};
