// The effect of each hypervisor setting: for every pair of groups whose recorded configurations
// differ in exactly one setting (everything else equal), the ratio between them per benchmark,
// with its 95% interval. "disk_bus sata vs virtio-blk on disk.rand_read_4k: ×0.42 (0.38–0.47)".
import { compare, type CompareFilter } from './compare';
import { groupKey, type RunConfigurationRecord } from '../model';
import type { Store } from '../store/store';

/** A group's recorded configuration: its runs' settings when they agree. */
export interface GroupConfiguration {
  readonly key: string;
  readonly platform: string;
  readonly label: string;
  readonly settings: Readonly<Record<string, string>>;
  /** Runs whose configuration was recorded, of `runs`. */
  readonly configuredRuns: number;
  readonly runs: number;
  /** True when runs of the group were recorded with different settings (the first is shown). */
  readonly mixed: boolean;
  readonly accelerator: string;
  readonly hostKernel: string;
  readonly qemuVersion: string;
  readonly libvirtVersion: string;
}

export interface SettingEffect {
  /** The setting that differs (disk_bus). */
  readonly setting: string;
  readonly value: string;
  readonly reference: string;
  /** Every other setting, equal on both sides. */
  readonly others: Readonly<Record<string, string>>;
  readonly group: string;
  readonly referenceGroup: string;
  readonly benchmarkId: string;
  readonly metric: string;
  readonly unit: string;
  readonly parameters: string;
  /** value's performance relative to reference's: above 1 is better, whatever the metric's direction. */
  readonly ratio: number;
  readonly ciLow: number | undefined;
  readonly ciHigh: number | undefined;
  readonly runs: number;
  readonly referenceRuns: number;
}

export interface ConfigurationView {
  readonly groups: readonly GroupConfiguration[];
  readonly effects: readonly SettingEffect[];
}

/**
 * Which value of a setting is the reference ("sata vs virtio-blk"): paravirtual and
 * pass-through values first, since the question is usually what leaving them costs.
 */
const REFERENCE_FIRST = ['virtio-blk', 'virtio', 'host-passthrough', 'host-model', 'maximum', 'none', 'q35', 'off'];

function referenceOrder(a: string, b: string): number {
  const ra = REFERENCE_FIRST.indexOf(a);
  const rb = REFERENCE_FIRST.indexOf(b);
  if (ra >= 0 || rb >= 0) return (ra < 0 ? Infinity : ra) - (rb < 0 ? Infinity : rb);
  const na = Number(a);
  const nb = Number(b);
  if (Number.isFinite(na) && Number.isFinite(nb)) return na - nb;
  return a < b ? -1 : a > b ? 1 : 0;
}

const sameSettings = (a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean => {
  const ka = Object.keys(a).sort();
  const kb = Object.keys(b).sort();
  return ka.length === kb.length && ka.every((k, i) => k === kb[i] && a[k] === b[k]);
};

/** The recorded configuration of every group that has one. */
export async function groupConfigurations(store: Store, filter: CompareFilter = {}): Promise<GroupConfiguration[]> {
  const groups = await store.groupRuns({ hostname: filter.hostname, since: filter.since, until: filter.until });
  const out: GroupConfiguration[] = [];
  for (const g of groups) {
    if (filter.platform !== undefined && g.platform !== filter.platform) continue;
    const configs = await store.getRunConfigurations(g.runIds);
    const first: RunConfigurationRecord | undefined = configs[0];
    if (first === undefined) continue;
    out.push({
      key: groupKey(g.platform, g.label),
      platform: g.platform,
      label: g.label,
      settings: first.settings,
      configuredRuns: configs.length,
      runs: g.runIds.length,
      mixed: configs.some((c) => !sameSettings(c.settings, first.settings)),
      accelerator: first.accelerator,
      hostKernel: first.hostKernel,
      qemuVersion: first.qemuVersion,
      libvirtVersion: first.libvirtVersion,
    });
  }
  return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/** Pairs of groups differing in one setting, and the ratio between them per primary metric. */
export async function configurationView(store: Store, filter: CompareFilter = {}): Promise<ConfigurationView> {
  const groups = await groupConfigurations(store, filter);
  const effects: SettingEffect[] = [];
  for (const [i, a] of groups.entries()) {
    for (const b of groups.slice(i + 1)) {
      if (a.platform !== b.platform || a.mixed || b.mixed) continue;
      const keys = Object.keys(a.settings).sort();
      if (!sameSettings(Object.fromEntries(keys.map((k) => [k, ''])), Object.fromEntries(Object.keys(b.settings).map((k) => [k, ''])))) continue;
      const differing = keys.filter((k) => a.settings[k] !== b.settings[k]);
      if (differing.length !== 1) continue;
      const setting = differing[0] as string;
      const [ref, other] = referenceOrder(a.settings[setting] as string, b.settings[setting] as string) <= 0 ? [a, b] : [b, a];
      const others = Object.fromEntries(keys.filter((k) => k !== setting).map((k) => [k, a.settings[k] as string]));
      const result = await compare(store, {
        baseline: ref.key,
        groups: [other.key],
        filter: { hostname: filter.hostname, since: filter.since, until: filter.until },
      });
      const row = result.groups.find((g) => g.key === other.key);
      for (const bm of row?.benchmarks ?? []) {
        if (!bm.primary || bm.relative === undefined) continue;
        effects.push({
          setting,
          value: other.settings[setting] as string,
          reference: ref.settings[setting] as string,
          others,
          group: other.key,
          referenceGroup: ref.key,
          benchmarkId: bm.benchmarkId,
          metric: bm.metric,
          unit: bm.unit,
          parameters: bm.parameters,
          ratio: bm.relative,
          ciLow: bm.ciLow,
          ciHigh: bm.ciHigh,
          runs: bm.groupRuns,
          referenceRuns: bm.baselineRuns,
        });
      }
    }
  }
  effects.sort(
    (x, y) =>
      x.setting.localeCompare(y.setting) ||
      x.value.localeCompare(y.value) ||
      x.group.localeCompare(y.group) ||
      x.benchmarkId.localeCompare(y.benchmarkId) ||
      x.parameters.localeCompare(y.parameters),
  );
  return { groups, effects };
}

const SETTING_TITLES: Readonly<Record<string, string>> = {
  disk_bus: 'disk bus',
  disk_cache: 'disk cache',
  nic: 'NIC model',
  cpu_model: 'CPU model',
  vcpus: 'vCPUs',
  memory: 'memory (MiB)',
  hugepages: 'huge pages',
  machine: 'machine type',
  xml: 'XML fragment',
  accelerator: 'accelerator',
};

const fmt = (v: number): string => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));

/** One line per effect: `disk bus sata vs virtio-blk on disk.rand_read_4k: ×0.42 (0.38–0.47)`. */
export function formatEffect(e: SettingEffect): string {
  const interval = e.ciLow !== undefined && e.ciHigh !== undefined ? ` (${fmt(e.ciLow)}–${fmt(e.ciHigh)})` : ' (no interval: one run a side)';
  const params = e.parameters === '{}' || e.parameters === '' ? '' : ` ${e.parameters}`;
  const others = Object.entries(e.others)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  return `${SETTING_TITLES[e.setting] ?? e.setting} ${e.value} vs ${e.reference} on ${e.benchmarkId}${params}: ×${fmt(e.ratio)}${interval}${others === '' ? '' : `  [${others}]`}`;
}

/** The view as plain text: each group's configuration, then each setting's effect. */
export function formatConfigurationView(view: ConfigurationView): string {
  const lines: string[] = ['Configurations'];
  if (view.groups.length === 0) lines.push('  (no run has a recorded configuration: guestbench-lab records them)');
  for (const g of view.groups) {
    const settings = Object.entries(g.settings)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
    lines.push(
      `  ${g.key}: ${settings}; ${g.accelerator || '?'}, kernel ${g.hostKernel || '?'}, QEMU ${g.qemuVersion || '?'}, libvirt ${g.libvirtVersion || '?'}; ${g.configuredRuns}/${g.runs} runs recorded${g.mixed ? ' (MIXED settings)' : ''}`,
    );
  }
  lines.push('', 'Effect of each setting (everything else equal; above 1 is better)');
  if (view.effects.length === 0) lines.push('  (no two groups differ in exactly one setting)');
  for (const e of view.effects) lines.push(`  ${formatEffect(e)}`);
  return `${lines.join('\n')}\n`;
}
