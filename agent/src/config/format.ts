// Output of `guestbench-agent config --show`: each setting, its value and where it came from,
// then what each place said. The token is never printed whole.
import type { ResolvedConfig } from './resolve';
import { SETTING_NAMES, type SettingName } from './settings';

/** Shows only the last four characters of a long token, nothing of a short one. */
export function maskToken(token: string): string {
  return token.length >= 12 ? `****${token.slice(-4)}` : '****';
}

function displayValue(config: ResolvedConfig, name: SettingName): string | undefined {
  if (name === 'collector') return config.collector?.value.address;
  const value = config[name]?.value;
  return value !== undefined && name === 'token' ? maskToken(value) : value;
}

/** The `--json` form: `{ settings: { name: { value, source } | null }, sources: [...] }`. */
export function configToJson(config: ResolvedConfig): object {
  const settings: Record<string, { value: string; source: string } | null> = {};
  for (const name of SETTING_NAMES) {
    const value = displayValue(config, name);
    const source = config[name]?.source;
    settings[name] = value !== undefined && source !== undefined ? { value, source } : null;
  }
  return { settings, sources: config.sources };
}

/** Plain-text table for a person. */
export function formatResolvedConfig(config: ResolvedConfig): string {
  const rows: string[][] = [['SETTING', 'VALUE', 'SOURCE']];
  for (const name of SETTING_NAMES) {
    rows.push([name, displayValue(config, name) ?? '-', config[name]?.source ?? '(not set)']);
  }
  const widths = [0, 1].map((i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  const lines = rows.map((r) => `${(r[0] ?? '').padEnd(widths[0] ?? 0)}  ${(r[1] ?? '').padEnd(widths[1] ?? 0)}  ${r[2] ?? ''}`.trimEnd());
  lines.push('', 'consulted:');
  const sourceWidth = Math.max(...config.sources.map((s) => s.source.length));
  for (const s of config.sources) lines.push(`  ${s.source.padEnd(sourceWidth)}  ${s.status.padEnd(7)}  ${s.detail}`);
  return `${lines.join('\n')}\n`;
}
