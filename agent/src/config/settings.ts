// The agent's own settings (collector, token, label, platform, profile): their names, where a
// value can come from, and parsing of one value or one settings object, once, at the boundary.
// Label, platform, profile and collector go through the protocol's own rules
// (proto/src/vocabulary/), the ones the collector applies: whatever the source, a value the
// collector would refuse is refused here, before anything runs.
import { formatHostPort, parseHostPort, parseLabel, parsePlatform, parseProfileName, type Parsed } from '@guestbench/proto';

/** Settings an operator can give the agent, by flag, environment, file or hypervisor channel. */
export interface AgentSettings {
  /** Collector address, `HOST:PORT` (IPv6 as `[ADDR]:PORT`); several comma-separated to fail over. */
  collector?: string;
  /** Enrollment token the collector gave for this agent. */
  token?: string;
  /** Free-form label grouping runs in the comparison (e.g. `kvm-virtio`). */
  label?: string;
  /** `auto`, or the platform name the operator declares. */
  platform?: string;
  /** Benchmark profile name (`smoke`, `quick`, …). */
  profile?: string;
}

export type SettingName = keyof AgentSettings;

/** In the order `config --show` prints them. */
export const SETTING_NAMES: readonly SettingName[] = ['collector', 'token', 'label', 'platform', 'profile'];

/** Environment variable of each setting. */
export const SETTING_ENV: Readonly<Record<SettingName, string>> = {
  collector: 'GUESTBENCH_COLLECTOR',
  token: 'GUESTBENCH_TOKEN',
  label: 'GUESTBENCH_LABEL',
  platform: 'GUESTBENCH_PLATFORM',
  profile: 'GUESTBENCH_PROFILE',
};

/** Hypervisor channels, in the order they are consulted (docs/architecture.md, "Settings"). */
export type ChannelName = 'smbios' | 'fw_cfg' | 'vmware-guestinfo' | 'xenstore';
export const CHANNEL_NAMES: readonly ChannelName[] = ['smbios', 'fw_cfg', 'vmware-guestinfo', 'xenstore'];

/** Where a setting's value came from; `file:` carries the path that was read. */
export type ConfigSource = 'flag' | 'env' | `file:${string}` | ChannelName | 'default';

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

export function isConfigError(err: unknown): err is ConfigError {
  return err instanceof ConfigError;
}

/** A collector address, parsed. `address` is what a gRPC client dials. */
export interface CollectorAddress {
  readonly host: string;
  readonly port: number;
  /** `host:port`, with IPv6 hosts in brackets. */
  readonly address: string;
}

/** The value, or a ConfigError naming the setting and its source: "label from flag --label: expected …". */
function typed<T>(name: SettingName, where: string, parsed: Parsed<T>): T {
  if (!parsed.ok) throw new ConfigError(`${name} from ${where}: ${parsed.error}`);
  return parsed.value;
}

/**
 * Parses `HOST:PORT` (`[IPv6]:PORT` for IPv6). `where` names the source in the error,
 * e.g. `GUESTBENCH_COLLECTOR` or `the SMBIOS OEM string guestbench.collector`.
 */
export function parseCollectorAddress(text: string, where: string): CollectorAddress {
  const { host, port } = typed('collector', where, parseHostPort(text.trim()));
  return { host, port, address: formatHostPort({ host, port }) };
}

/** Collector addresses in the order to try them: `A,B` fails over from A to B. */
export interface CollectorAddressList {
  readonly list: readonly CollectorAddress[];
  /** The list as `host:port,host:port`: what a CollectorClient is given. */
  readonly address: string;
}

/** At most this many addresses in one list. */
export const MAX_COLLECTOR_ADDRESSES = 16;

/**
 * Parses `HOST:PORT[,HOST:PORT…]`: one collector, or several for failover. Every hypervisor
 * channel carries one string, so the list is one string everywhere. A duplicate or an empty
 * item is an error naming it.
 */
export function parseCollectorAddresses(text: string, where: string): CollectorAddressList {
  const items = text.split(',');
  if (items.length > MAX_COLLECTOR_ADDRESSES) {
    throw new ConfigError(`collector ${JSON.stringify(text)} from ${where} lists ${items.length} addresses; at most ${MAX_COLLECTOR_ADDRESSES}`);
  }
  const list: CollectorAddress[] = [];
  for (const [i, item] of items.entries()) {
    if (item.trim() === '') {
      throw new ConfigError(
        `collector ${JSON.stringify(text)} from ${where} has an empty address at position ${i + 1}; expected HOST:PORT or HOST:PORT,HOST:PORT`,
      );
    }
    const parsed = parseCollectorAddress(item, items.length > 1 ? `${where} (address ${i + 1})` : where);
    if (list.some((a) => a.address === parsed.address)) {
      throw new ConfigError(`collector ${JSON.stringify(text)} from ${where} lists ${parsed.address} twice`);
    }
    list.push(parsed);
  }
  return { list, address: list.map((a) => a.address).join(',') };
}

/**
 * Parses one setting's text, whatever its source, by the rule the collector applies to it
 * (the collector's address by parseCollectorAddress); returns it trimmed.
 */
export function parseSettingValue(name: SettingName, value: unknown, where: string): string {
  if (typeof value !== 'string') {
    throw new ConfigError(`${where}: "${name}" must be a string, got ${value === null ? 'null' : typeof value}`);
  }
  const text = value.trim();
  if (text === '') throw new ConfigError(`${where}: "${name}" is empty`);
  // eslint-disable-next-line no-control-regex -- control characters are what is refused
  if (/[\u0000-\u001f\u007f]/.test(text)) throw new ConfigError(`${where}: "${name}" contains control characters`);
  switch (name) {
    case 'token':
      if (/\s/.test(text)) throw new ConfigError(`${where}: "${name}" must not contain spaces, got ${JSON.stringify(text)}`);
      return text;
    case 'platform':
      return typed(name, where, parsePlatform(text, { allowAuto: true }));
    case 'profile':
      // A profile file (./mine.json) is read and checked where profiles are loaded.
      if (text.includes('/') || text.endsWith('.json')) return text;
      return typed(name, where, parseProfileName(text));
    case 'label':
      return typed(name, where, parseLabel(text));
    case 'collector':
      return parseCollectorAddresses(text, where).address;
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Parses a settings object (the config file, the fw_cfg blob): every key must be a known
 * setting with a string value. `where` names the file or channel in errors.
 */
export function parseSettingsObject(raw: unknown, where: string): AgentSettings {
  if (!isRecord(raw)) throw new ConfigError(`${where}: must be a JSON object like {"collector": "10.0.2.2:50051"}`);
  const known = new Set<string>(SETTING_NAMES);
  const settings: AgentSettings = {};
  for (const [key, value] of Object.entries(raw)) {
    if (!known.has(key)) {
      throw new ConfigError(`${where}: unknown key "${key}" (known: ${SETTING_NAMES.join(', ')})`);
    }
    const name = key as SettingName;
    settings[name] = parseSettingValue(name, value, where);
  }
  return settings;
}
