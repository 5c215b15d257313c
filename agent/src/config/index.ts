// Where the agent's collector, token, label, platform and profile come from (docs/architecture.md, "Settings").
export { resolveAgentConfig, CONFIG_FILE, CONFIG_BUDGET_MS } from './resolve';
export type { ResolveInput, ResolvedConfig, Resolved, SourceReport } from './resolve';
export { formatResolvedConfig, configToJson, maskToken } from './format';
export { ConfigError, isConfigError, parseCollectorAddress, parseCollectorAddresses, SETTING_NAMES, SETTING_ENV, CHANNEL_NAMES } from './settings';
export type { AgentSettings, SettingName, ChannelName, ConfigSource, CollectorAddress, CollectorAddressList } from './settings';
export { runCommand, findOnPath } from './run-command';
export type { RunCommand, CommandResult } from './run-command';
export { parseOemStrings, oemStringsFromTable, readOemStrings } from './smbios';
export { FW_CFG_NAME, OEM_STRING_PREFIX, GUESTINFO_PREFIX, XENSTORE_PREFIX } from './channels';
