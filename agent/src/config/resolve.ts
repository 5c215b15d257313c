// Merges the agent's settings from every place an operator can put them, in the order of
// docs/architecture.md ("Settings"): flags > environment > config file > hypervisor channels (> defaults).
// The value chosen for each setting is parsed by its rule, naming its source when refused.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CHANNEL_READERS, FW_CFG_NAME, GUESTINFO_PREFIX, OEM_STRING_PREFIX, XENSTORE_PREFIX, type ChannelReading } from './channels';
import { Deadline } from '../detect/run-process';
import { runCommand as defaultRunCommand, type RunCommand } from './run-command';
import {
  CHANNEL_NAMES,
  ConfigError,
  parseCollectorAddresses,
  parseSettingsObject,
  parseSettingValue,
  SETTING_ENV,
  SETTING_NAMES,
  type AgentSettings,
  type ChannelName,
  type CollectorAddressList,
  type ConfigSource,
  type SettingName,
} from './settings';

/** The config file inside the system root. */
export const CONFIG_FILE = '/etc/guestbench/agent.json';

export interface ResolveInput {
  /** Values from the command line; undefined means "not given". */
  readonly flags: Partial<AgentSettings>;
  /** Usually `process.env`; GUESTBENCH_* are read from it, and PATH to find hypervisor tools. */
  readonly env: NodeJS.ProcessEnv;
  /** Root of the system whose files are read (sysfs, /etc); tests point it at a fixture. @default '/' */
  readonly root?: string;
  /** Config file to read instead of `<root>/etc/guestbench/agent.json`; it must then exist. */
  readonly configFile?: string;
  /** Runs vmware-rpctool / xenstore-read; tests inject fakes. @default runs them from env.PATH */
  readonly runCommand?: RunCommand;
  /** Hypervisor channels to consult, in order. @default all of CHANNEL_NAMES */
  readonly channels?: readonly ChannelName[];
  /** Used when no source gives a value (source `default`). @default {} */
  readonly defaults?: Partial<AgentSettings>;
  /**
   * Time every hypervisor tool of this resolution may take together, however many calls they
   * make; a tool still running then is stopped and its channel reported as an error.
   * @default {@link CONFIG_BUDGET_MS}
   */
  readonly budgetMs?: number;
}

/** What the hypervisor tools of one resolution may take together. */
export const CONFIG_BUDGET_MS = 6000;

export interface Resolved<T> {
  readonly value: T;
  readonly source: ConfigSource;
}

/** What one place (the config file or a channel) said, for `config --show`. */
export interface SourceReport {
  readonly source: 'file' | ChannelName;
  readonly status: ChannelReading['status'];
  readonly detail: string;
}

export interface ResolvedConfig {
  readonly collector?: Resolved<CollectorAddressList>;
  readonly token?: Resolved<string>;
  readonly label?: Resolved<string>;
  readonly platform?: Resolved<string>;
  readonly profile?: Resolved<string>;
  /** The config file and each hypervisor channel, in the order consulted. */
  readonly sources: readonly SourceReport[];
}

interface Candidate {
  readonly value: string;
  readonly source: ConfigSource;
  /** Names the place in an error message. */
  readonly where: string;
}

async function readConfigFile(path: string, mustExist: boolean): Promise<{ settings: AgentSettings; report: SourceReport }> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (!mustExist && (code === 'ENOENT' || code === 'ENOTDIR')) {
      return { settings: {}, report: { source: 'file', status: 'absent', detail: `no ${path}` } };
    }
    throw new ConfigError(`config file ${path}: cannot read it (${code ?? String(err)})`, { cause: err });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`config file ${path}: not valid JSON (${err instanceof Error ? err.message : String(err)})`, { cause: err });
  }
  const settings = parseSettingsObject(parsed, `config file ${path}`);
  const names = SETTING_NAMES.filter((n) => settings[n] !== undefined);
  return {
    settings,
    report:
      names.length > 0
        ? { source: 'file', status: 'found', detail: `${path}: ${names.join(', ')}` }
        : { source: 'file', status: 'empty', detail: `${path}: no settings` },
  };
}

/** Names the place a channel's value came from, for errors: "the SMBIOS OEM string guestbench.label". */
function channelWhere(channel: ChannelName, name: SettingName): string {
  switch (channel) {
    case 'smbios':
      return `the SMBIOS OEM string ${OEM_STRING_PREFIX}${name}`;
    case 'fw_cfg':
      return `fw_cfg ${FW_CFG_NAME}`;
    case 'vmware-guestinfo':
      return `VMware guestinfo ${GUESTINFO_PREFIX}${name}`;
    case 'xenstore':
      return `xenstore ${XENSTORE_PREFIX}${name}`;
  }
}

/**
 * Resolves the agent's settings. Throws a ConfigError (one line, naming the setting and where
 * it came from) for a bad config file, a bad fw_cfg blob or an invalid chosen value.
 */
export async function resolveAgentConfig(input: ResolveInput): Promise<ResolvedConfig> {
  const root = input.root ?? '/';
  const chosen = new Map<SettingName, Candidate>();
  const offer = (name: SettingName, value: string | undefined, source: ConfigSource, where: string): void => {
    if (value === undefined || chosen.has(name)) return;
    chosen.set(name, { value, source, where });
  };

  for (const name of SETTING_NAMES) {
    const flag = input.flags[name];
    if (flag !== undefined) offer(name, parseSettingValue(name, flag, `flag --${name}`), 'flag', `flag --${name}`);
  }
  for (const name of SETTING_NAMES) {
    const variable = SETTING_ENV[name];
    const value = input.env[variable];
    // An empty variable is how shells unset things; treat it as absent.
    if (value !== undefined && value.trim() !== '') offer(name, parseSettingValue(name, value, `environment ${variable}`), 'env', `environment ${variable}`);
  }

  const filePath = input.configFile ?? join(root, CONFIG_FILE);
  const file = await readConfigFile(filePath, input.configFile !== undefined);
  for (const name of SETTING_NAMES) offer(name, file.settings[name], `file:${filePath}`, `config file ${filePath}`);
  const sources: SourceReport[] = [file.report];

  const wanted = SETTING_NAMES.filter((n) => !chosen.has(n));
  const deadline = new Deadline(input.budgetMs ?? CONFIG_BUDGET_MS);
  const channelNames = input.channels ?? CHANNEL_NAMES;
  const readings = await Promise.all(
    channelNames.map((channel) =>
      wanted.length === 0
        ? Promise.resolve<ChannelReading>({ channel, status: 'skipped', settings: {}, detail: 'every setting already given' })
        : CHANNEL_READERS[channel]({ root, env: input.env, runCommand: input.runCommand ?? defaultRunCommand, wanted, deadline }),
    ),
  );
  for (const r of readings) {
    sources.push({ source: r.channel, status: r.status, detail: r.detail });
    for (const name of wanted) offer(name, r.settings[name], r.channel, channelWhere(r.channel, name));
  }
  for (const name of SETTING_NAMES) offer(name, input.defaults?.[name], 'default', 'defaults');

  const pick = (name: SettingName): Resolved<string> | undefined => {
    const c = chosen.get(name);
    return c && { value: parseSettingValue(name, c.value, c.where), source: c.source };
  };
  const collector = chosen.get('collector');
  const config: { -readonly [K in keyof ResolvedConfig]: ResolvedConfig[K] } = { sources };
  if (collector) {
    config.collector = {
      value: parseCollectorAddresses(parseSettingValue('collector', collector.value, collector.where), collector.where),
      source: collector.source,
    };
  }
  const token = pick('token');
  const label = pick('label');
  const platform = pick('platform');
  const profile = pick('profile');
  if (token) config.token = token;
  if (label) config.label = label;
  if (platform) config.platform = platform;
  if (profile) config.profile = profile;
  return config;
}
