// Reads a lab matrix file (YAML) into a typed Matrix, once, at the boundary. Every mistake is
// reported with the line it is on and what would be right; nothing runs on a bad file.
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node, type Pair } from 'yaml';
import { AXIS_NAMES, DISK_BUSES, DISK_CACHES, NIC_MODELS, type AxisName, type Configuration } from './axes';
import type { GuestNetwork } from '../libvirt/domain-xml';

/** A value an axis may take in a matrix, before defaults are filled in. */
export type AxisValue = string | number | boolean;

/** A parsed matrix file. Configurations are partial: the lab fills the other axes in. */
export interface Matrix {
  /** Base disk image (qcow2, raw or VMDK); the guests run on overlays of it. */
  readonly image: string;
  /** Collector address as the guests see it (HOST:PORT). */
  readonly collector: string;
  /** @default "smoke" */
  readonly profile: string;
  /** Runs of each configuration (and as many native runs). @default 1 */
  readonly repetitions: number;
  /** Seed of the random order of guest and native runs. @default 1 */
  readonly seed: number;
  /** Interleave native baseline runs of the agent on the host. @default true */
  readonly native: boolean;
  /** Seconds one guest may take from start to the end of its run. @default 1800 */
  readonly timeoutSeconds: number;
  /** How guests reach the collector: `user` (QEMU's NAT, the host is 10.0.2.2), `network:NAME`, `bridge:NAME`. @default user */
  readonly network: GuestNetwork;
  /**
   * `kernel`: QEMU loads the kernel and initrd named by the image's manifest (fast under TCG);
   * `disk`: the image's own boot loader; `auto`: kernel when a manifest describes the image.
   * @default "auto"
   */
  readonly boot: 'auto' | 'kernel' | 'disk';
  /** Named raw libvirt XML fragments (the `xml` axis). */
  readonly xmlFragments: Readonly<Record<string, string>>;
  /** The configurations to run, in file order, each with only the axes the file set. */
  readonly configurations: readonly Partial<Configuration>[];
  /** The axes whose value differs between configurations: they name the groups. */
  readonly varied: readonly AxisName[];
}

export class MatrixError extends Error {
  constructor(
    readonly problems: readonly string[],
    options?: { cause?: unknown },
  ) {
    super(problems.join('\n'), options);
    this.name = 'MatrixError';
  }
}

export function isMatrixError(err: unknown): err is MatrixError {
  return err instanceof MatrixError;
}

const TOP_KEYS = ['image', 'collector', 'boot', 'network', 'profile', 'repetitions', 'seed', 'native', 'timeout', 'axes', 'configurations'] as const;
const HOST_PORT = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;
/** Labels travel in SMBIOS strings and group names: keep names to a safe alphabet. */
const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,47}$/;

type Checker = (value: unknown, where: string) => { ok: true; value: AxisValue } | { ok: false; error: string };

const oneOf =
  (allowed: readonly string[], what: string): Checker =>
  (v, where) =>
    typeof v === 'string' && allowed.includes(v)
      ? { ok: true, value: v }
      : { ok: false, error: `${where}: ${JSON.stringify(v)} is not a ${what}; use one of ${allowed.join(', ')}` };

const integer =
  (min: number, max: number, what: string): Checker =>
  (v, where) =>
    typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max
      ? { ok: true, value: v }
      : { ok: false, error: `${where}: ${JSON.stringify(v)} is not a ${what}; use a whole number from ${min} to ${max}` };

const name =
  (what: string, example: string): Checker =>
  (v, where) =>
    typeof v === 'string' && SAFE_NAME.test(v)
      ? { ok: true, value: v }
      : { ok: false, error: `${where}: ${JSON.stringify(v)} is not a ${what}; use letters, digits and . _ - (for example ${example})` };

const CHECKERS: Readonly<Record<Exclude<AxisName, 'xml'>, Checker>> = {
  cpu_model: name('CPU model', 'host-passthrough, host-model, maximum, qemu64, Skylake-Client'),
  vcpus: integer(1, 256, 'vCPU count'),
  memory: integer(128, 4_194_304, 'memory size in MiB'),
  hugepages: (v, where) => (typeof v === 'boolean' ? { ok: true, value: v } : { ok: false, error: `${where}: ${JSON.stringify(v)} is not true or false` }),
  machine: name('machine type', 'q35, pc, pc-q35-7.2'),
  disk_bus: oneOf(DISK_BUSES, 'disk bus'),
  disk_cache: oneOf(DISK_CACHES, 'disk cache mode'),
  nic: oneOf(NIC_MODELS, 'NIC model'),
};

/** Parses matrix YAML; `file` names it in errors. Throws MatrixError listing every problem. */
export function parseMatrix(text: string, file = 'matrix'): Matrix {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const problems: string[] = [];
  const at = (node: Node | null | undefined): string => {
    const offset = node?.range?.[0];
    return offset === undefined ? file : `${file}:${lines.linePos(offset).line}`;
  };
  for (const e of doc.errors) problems.push(`${file}:${lines.linePos(e.pos[0]).line}: not valid YAML: ${e.message.split('\n')[0]}`);
  if (problems.length > 0) throw new MatrixError(problems);

  const root = doc.contents;
  if (!isMap(root))
    throw new MatrixError([`${at(root)}: a matrix is a mapping with image, collector, axes, …; got ${root === null ? 'an empty file' : 'something else'}`]);

  const pairs = new Map<string, Pair<unknown, unknown>>();
  for (const pair of root.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : '';
    if (!(TOP_KEYS as readonly string[]).includes(key)) {
      problems.push(`${at(pair.key as Node)}: unknown key "${key}"; a matrix has ${TOP_KEYS.join(', ')}`);
      continue;
    }
    pairs.set(key, pair);
  }
  const valueNode = (key: string): Node | undefined => pairs.get(key)?.value as Node | undefined;
  const scalar = (key: string): { value: unknown; where: string } | undefined => {
    const node = valueNode(key);
    if (node === undefined) return undefined;
    if (!isScalar(node)) {
      problems.push(`${at(node)}: ${key} must be a single value`);
      return undefined;
    }
    return { value: node.value, where: `${at(node)}: ${key}` };
  };

  const image = scalar('image');
  if (image === undefined && !pairs.has('image'))
    problems.push(`${file}: image is missing; give the base disk image, for example image: /var/cache/guestbench/images/guestbench-debian12.qcow2`);
  else if (image !== undefined && (typeof image.value !== 'string' || image.value === '')) problems.push(`${image.where}: must be the path of a disk image`);

  const collector = scalar('collector');
  if (collector === undefined && !pairs.has('collector'))
    problems.push(`${file}: collector is missing; give the collector's address as the guests see it, for example collector: 10.0.2.2:50051`);
  else if (collector !== undefined) {
    const m = typeof collector.value === 'string' ? HOST_PORT.exec(collector.value) : null;
    if (m === null || Number(m[2]) < 1 || Number(m[2]) > 65535)
      problems.push(`${collector.where}: ${JSON.stringify(collector.value)} is not HOST:PORT (for example 10.0.2.2:50051)`);
  }

  const profile = scalar('profile');
  if (profile !== undefined && (typeof profile.value !== 'string' || !/^[a-z0-9-]{1,32}$/.test(profile.value))) {
    problems.push(`${profile.where}: ${JSON.stringify(profile.value)} is not a profile name (smoke, quick, …)`);
  }
  const checkInt = (key: string, min: number, max: number): number | undefined => {
    const s = scalar(key);
    if (s === undefined) return undefined;
    if (typeof s.value !== 'number' || !Number.isInteger(s.value) || s.value < min || s.value > max) {
      problems.push(`${s.where}: ${JSON.stringify(s.value)} must be a whole number from ${min} to ${max}`);
      return undefined;
    }
    return s.value;
  };
  const repetitions = checkInt('repetitions', 1, 1000);
  const seed = checkInt('seed', 0, 2 ** 31 - 1);
  const timeout = checkInt('timeout', 10, 86_400);
  const native = scalar('native');
  if (native !== undefined && typeof native.value !== 'boolean') problems.push(`${native.where}: must be true or false`);

  const bootSetting = scalar('boot');
  if (bootSetting !== undefined && !['auto', 'kernel', 'disk'].includes(String(bootSetting.value)))
    problems.push(`${bootSetting.where}: ${JSON.stringify(bootSetting.value)} is not auto, kernel or disk`);
  let network: GuestNetwork = { kind: 'user' };
  const net = scalar('network');
  if (net !== undefined) {
    const m = typeof net.value === 'string' ? /^(?:(user)|(network|bridge):([A-Za-z0-9][A-Za-z0-9._-]{0,63}))$/.exec(net.value) : null;
    if (m === null)
      problems.push(`${net.where}: ${JSON.stringify(net.value)} is not user, network:NAME or bridge:NAME (for example network:default, bridge:br0)`);
    else if (m[1] === undefined) network = { kind: m[2] as 'network' | 'bridge', name: m[3]! };
  }

  const xmlFragments: Record<string, string> = {};
  const axisValues = new Map<AxisName, AxisValue[]>();
  const axesNode = valueNode('axes');
  if (axesNode !== undefined) {
    if (!isMap(axesNode)) problems.push(`${at(axesNode)}: axes must map each axis to its values, for example disk_bus: [virtio-blk, sata]`);
    else {
      for (const pair of axesNode.items) {
        const axis = isScalar(pair.key) ? String(pair.key.value) : '';
        const values = pair.value as Node | null;
        if (!(AXIS_NAMES as readonly string[]).includes(axis)) {
          problems.push(`${at(pair.key as Node)}: unknown axis "${axis}"; the axes are ${AXIS_NAMES.join(', ')}`);
          continue;
        }
        if (axis === 'xml') {
          if (!isMap(values) || values.items.length === 0) {
            problems.push(
              `${at(values ?? (pair.key as Node))}: axes.xml maps a name to a libvirt XML fragment, for example xml: {none: "", iothread: "<iothreads>1</iothreads>"}`,
            );
            continue;
          }
          const names: string[] = [];
          for (const p of values.items) {
            const fragName = isScalar(p.key) ? p.key.value : undefined;
            const checked = name('fragment name', 'none, iothread')(fragName, `${at(p.key as Node)}: axes.xml`);
            const body = p.value as Node | null;
            if (!checked.ok) problems.push(checked.error);
            else if (body !== null && !(isScalar(body) && typeof body.value === 'string'))
              problems.push(`${at(body)}: axes.xml.${String(fragName)} must be XML text (quote it, or use a | block)`);
            else {
              const xml = body === null ? '' : String((body as { value: string }).value);
              const bad = checkFragment(xml);
              if (bad !== undefined) problems.push(`${at(body ?? (p.key as Node))}: axes.xml.${String(fragName)}: ${bad}`);
              xmlFragments[String(fragName)] = xml;
              names.push(String(fragName));
            }
          }
          axisValues.set('xml', names);
          continue;
        }
        const list = isSeq(values) ? values.items : isScalar(values) ? [values] : undefined;
        if (list === undefined || list.length === 0) {
          problems.push(
            `${at(values ?? (pair.key as Node))}: axes.${axis} must be a list of values, for example ${axis}: [${exampleValues(axis as AxisName)}]`,
          );
          continue;
        }
        const parsed: AxisValue[] = [];
        for (const item of list) {
          const node = item as Node;
          const checked = isScalar(node)
            ? CHECKERS[axis as Exclude<AxisName, 'xml'>](node.value, `${at(node)}: axes.${axis}`)
            : { ok: false as const, error: `${at(node)}: axes.${axis}: each value must be a single value` };
          if (!checked.ok) problems.push(checked.error);
          else if (parsed.includes(checked.value)) problems.push(`${at(node)}: axes.${axis}: ${String(checked.value)} is listed twice`);
          else parsed.push(checked.value);
        }
        axisValues.set(axis as AxisName, parsed);
      }
    }
  }

  const configurations: Partial<Configuration>[] = [];
  const listNode = valueNode('configurations');
  if (listNode !== undefined) {
    if (!isSeq(listNode) || listNode.items.length === 0)
      problems.push(`${at(listNode)}: configurations must be a list of mappings, for example - {disk_bus: sata, nic: e1000}`);
    else {
      for (const item of listNode.items) {
        const node = item as Node;
        if (!isMap(node)) {
          problems.push(`${at(node)}: each configuration is a mapping of axis to value, for example {disk_bus: sata, nic: e1000}`);
          continue;
        }
        const config: Record<string, AxisValue> = {};
        for (const p of node.items) {
          const axis = isScalar(p.key) ? String(p.key.value) : '';
          const v = p.value as Node | null;
          if (!(AXIS_NAMES as readonly string[]).includes(axis)) {
            problems.push(`${at(p.key as Node)}: unknown axis "${axis}"; the axes are ${AXIS_NAMES.join(', ')}`);
            continue;
          }
          if (!isScalar(v)) {
            problems.push(`${at(v ?? (p.key as Node))}: ${axis} must be a single value`);
            continue;
          }
          if (axis === 'xml') {
            if (typeof v.value !== 'string' || !(v.value in xmlFragments)) {
              problems.push(
                `${at(v)}: xml: ${JSON.stringify(v.value)} names no fragment of axes.xml${Object.keys(xmlFragments).length > 0 ? ` (${Object.keys(xmlFragments).join(', ')})` : ''}`,
              );
            } else config[axis] = v.value;
            continue;
          }
          const checked = CHECKERS[axis as Exclude<AxisName, 'xml'>](v.value, `${at(v)}: ${axis}`);
          if (!checked.ok) problems.push(checked.error);
          else config[axis] = checked.value;
        }
        configurations.push(config as Partial<Configuration>);
      }
      for (const [axis] of axisValues) {
        if (axis !== 'xml')
          problems.push(`${at(axesNode)}: axes.${axis} and configurations both given; with an explicit list, axes may only define xml fragments`);
      }
    }
  }
  if (axesNode === undefined && listNode === undefined) problems.push(`${file}: give axes (every combination runs) or configurations (an explicit list)`);
  if (problems.length > 0) throw new MatrixError(problems);

  if (listNode === undefined) configurations.push(...product(axisValues));
  const varied = AXIS_NAMES.filter((a) => new Set(configurations.map((c) => String(c[a] ?? ''))).size > 1);
  const labels = new Set<string>();
  for (const c of configurations) {
    const key = JSON.stringify(AXIS_NAMES.map((a) => c[a] ?? null));
    if (labels.has(key)) throw new MatrixError([`${at(listNode)}: two configurations are the same (${JSON.stringify(c)}); list each once and use repetitions`]);
    labels.add(key);
  }
  if (configurations.length > 1000) throw new MatrixError([`${at(axesNode)}: ${configurations.length} configurations; at most 1000`]);

  return {
    image: String(image?.value ?? ''),
    collector: String(collector?.value ?? ''),
    profile: typeof profile?.value === 'string' ? profile.value : 'smoke',
    repetitions: repetitions ?? 1,
    seed: seed ?? 1,
    native: typeof native?.value === 'boolean' ? native.value : true,
    timeoutSeconds: timeout ?? 1800,
    network,
    boot: (bootSetting?.value as 'auto' | 'kernel' | 'disk' | undefined) ?? 'auto',
    xmlFragments,
    configurations,
    varied,
  };
}

/** Every combination of the axes' values, the first axis changing slowest. */
function product(axes: ReadonlyMap<AxisName, readonly AxisValue[]>): Partial<Configuration>[] {
  let out: Record<string, AxisValue>[] = [{}];
  for (const axis of AXIS_NAMES) {
    const values = axes.get(axis);
    if (values === undefined) continue;
    out = out.flatMap((c) => values.map((v) => ({ ...c, [axis]: v })));
  }
  return out as Partial<Configuration>[];
}

function exampleValues(axis: AxisName): string {
  switch (axis) {
    case 'disk_bus':
      return DISK_BUSES.join(', ');
    case 'disk_cache':
      return 'none, writeback';
    case 'nic':
      return NIC_MODELS.join(', ');
    case 'cpu_model':
      return 'host-passthrough, qemu64';
    case 'vcpus':
      return '1, 2';
    case 'memory':
      return '1024, 2048';
    case 'hugepages':
      return 'false, true';
    case 'machine':
      return 'q35, pc';
    case 'xml':
      return '';
  }
}

/**
 * A fragment goes into the domain (or, wrapped in <devices>, into its devices). Refuse what would
 * take the guest out of the lab's hands: its own name, disk, or a second <devices>.
 */
function checkFragment(xml: string): string | undefined {
  if (/<\s*(name|uuid|domain)\b/.test(xml)) return 'may not set <domain>, <name> or <uuid>: the lab names and defines each guest';
  const inner = /^\s*<devices>([\s\S]*)<\/devices>\s*$/.exec(xml);
  if (inner === null && /<\s*devices\b/.test(xml)) return '<devices> must wrap the whole fragment';
  if (/<!DOCTYPE|<!ENTITY/i.test(xml)) return 'no DOCTYPE or entities';
  const open = (xml.match(/<[A-Za-z]/g) ?? []).length;
  const selfClosed = (xml.match(/\/>/g) ?? []).length;
  const close = (xml.match(/<\//g) ?? []).length;
  if (open !== selfClosed + close) return 'is not well-formed XML (every element must be closed)';
  return undefined;
}
