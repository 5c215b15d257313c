// The agent's own settings (collector, token, label, platform, profile): their names, where a
// value can come from, and parsing of one value or one settings object, once, at the boundary.

/** Settings an operator can give the agent, by flag, environment, file or hypervisor channel. */
export interface AgentSettings {
  /** Collector address, `HOST:PORT` (IPv6 as `[ADDR]:PORT`). */
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

/** Hypervisor channels, in the order they are consulted (DESIGN §5). */
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

const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;
const IPV6 = /^[0-9A-Fa-f:.]+(?:%[A-Za-z0-9_.-]+)?$/;

/**
 * Parses `HOST:PORT` (`[IPv6]:PORT` for IPv6). `where` names the source in the error,
 * e.g. `GUESTBENCH_COLLECTOR` or `smbios guestbench.collector`.
 */
export function parseCollectorAddress(text: string, where: string): CollectorAddress {
  const fail = (why: string): never => {
    throw new ConfigError(`collector ${JSON.stringify(text)} from ${where} ${why}; expected HOST:PORT, e.g. 10.0.2.2:50051`);
  };
  const trimmed = text.trim();
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed)) fail('is a URL');
  let host: string;
  let portText: string;
  const bracketed = /^\[([^\]]+)\]:(\d+)$/.exec(trimmed);
  if (bracketed) {
    host = bracketed[1] ?? '';
    portText = bracketed[2] ?? '';
    if (!IPV6.test(host) || !host.includes(':')) fail('has an invalid IPv6 address');
  } else {
    const colon = trimmed.lastIndexOf(':');
    if (colon < 0) fail('has no port');
    host = trimmed.slice(0, colon);
    portText = trimmed.slice(colon + 1);
    if (host.includes(':')) fail('looks like an IPv6 address without brackets');
    if (!HOSTNAME.test(host)) fail(host === '' ? 'has no host' : `has an invalid host "${host}"`);
  }
  if (!/^\d{1,5}$/.test(portText)) fail(portText === '' ? 'has no port' : `has an invalid port "${portText}"`);
  const port = Number(portText);
  if (port < 1 || port > 65535) fail(`has port ${port} outside 1-65535`);
  return { host, port, address: host.includes(':') ? `[${host}]:${port}` : `${host}:${port}` };
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
      throw new ConfigError(`collector ${JSON.stringify(text)} from ${where} has an empty address at position ${i + 1}; expected HOST:PORT or HOST:PORT,HOST:PORT`);
    }
    const parsed = parseCollectorAddress(item, items.length > 1 ? `${where} (address ${i + 1})` : where);
    if (list.some((a) => a.address === parsed.address)) {
      throw new ConfigError(`collector ${JSON.stringify(text)} from ${where} lists ${parsed.address} twice`);
    }
    list.push(parsed);
  }
  return { list, address: list.map((a) => a.address).join(',') };
}

/** Checks one setting's text (not the collector's address syntax); returns it trimmed. */
export function parseSettingValue(name: SettingName, value: unknown, where: string): string {
  if (typeof value !== 'string') {
    throw new ConfigError(`${where}: "${name}" must be a string, got ${value === null ? 'null' : typeof value}`);
  }
  const text = value.trim();
  if (text === '') throw new ConfigError(`${where}: "${name}" is empty`);
  if (/[\u0000-\u001f\u007f]/.test(text)) throw new ConfigError(`${where}: "${name}" contains control characters`);
  switch (name) {
    case 'token':
    case 'platform':
    case 'profile':
      if (/\s/.test(text)) throw new ConfigError(`${where}: "${name}" must not contain spaces, got ${JSON.stringify(text)}`);
      break;
    case 'label':
      if (text.length > 128) throw new ConfigError(`${where}: "label" is longer than 128 characters`);
      break;
    case 'collector':
      break;
  }
  return text;
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
