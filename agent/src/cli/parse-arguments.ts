// Turns the agent's command line into a typed command, or a usage error. Kept apart from
// main() so that both can be tested.
import path from 'node:path';
import { parseArgs } from 'node:util';
import { PLATFORMS } from '../detect/detect-platform';
import { parseHostPort } from '../net/address';
import { isWebTargetError, parseWebTargets, type WebTargets } from '../web/pages';
import { parseServeWebArguments, type ServeWebCommand } from '../web/serve-web';
import { parseLoadArguments, type LoadCommand } from '../load/load-command';

export const USAGE = `guestbench-agent — measures what this machine (a guest, or the bare host) gets

Usage:
  guestbench-agent detect [--json] [--root DIR]
  guestbench-agent bench  [--profile NAME] [--disk-dir DIR] [--net-target HOST:PORT] [--web-target URL…] [--load-generator builtin|ab] [--json]
                          [--precision P% [--precision-budget SECONDS]]
  guestbench-agent run    [--collector HOST:PORT] [--label NAME] [--platform auto|NAME] [--profile NAME] [--agent-id ID]
                          [--precision P% [--precision-budget SECONDS]]
                          [--disk-dir DIR] [--net-target HOST:PORT] [--web-target URL…] [--load-generator builtin|ab] [--json]
  guestbench-agent daemon [--collector HOST:PORT] [--label NAME] [--platform auto|NAME] [--agent-id ID]
  guestbench-agent flush  [--collector HOST:PORT] [--json]
  guestbench-agent config --show [--json]
  (run, daemon and flush also take --token T, --ca FILE, --cert FILE --key FILE, --state-dir DIR)
  guestbench-agent serve-net [--listen HOST:PORT] [--json]
  guestbench-agent serve-web [--listen HOST:PORT] [--large-kib N] [--site DIR | --write-site DIR] [--json]
  guestbench-agent load   URL [-c N] [-n N] [-t SECONDS] [-k] [--rate R] [--threads T] [--generator builtin|ab] [--json]
  guestbench-agent list   [--json]
  guestbench-agent --help

Commands:
  detect   say which platform this is (native, kvm, qemu, vmware, xen, hyperv, other) and why
  bench    run the benchmark suite locally and print the samples; no collector needed
  run      run the suite and report every sample to a collector as each benchmark finishes;
           exits 0 when every benchmark measured and every sample was acknowledged, 3 when
           the run was partial (some benchmarks failed, the others' samples all acknowledged),
           1 otherwise
  daemon   stay connected to the collector and run the jobs it hands out (the systemd unit's mode)
  flush    deliver what earlier runs left in the spool (samples not yet acknowledged), then exit
  config   show the collector, token, label, platform and profile this agent would use, and where
           each came from (flags, environment, /etc/guestbench/agent.json, SMBIOS, fw_cfg,
           VMware guestinfo, Xen xenstore)
  serve-net  serve the network benchmarks' sink/echo endpoint here, for agents elsewhere
  serve-web  serve the web benchmarks' pages here (static and CGI), or write them for Apache/nginx;
             \`serve-web --help\` tells more
  load     ab-style load on one URL with the built-in generator (or ab), and ab's report;
           \`load --help\` tells more
  list     the benchmarks and profiles this agent knows

Options:
  --profile NAME       smoke (seconds), quick (about a minute), standard, full; default smoke
  --token TOKEN        the enrollment token from \`guestbench-collector token create\` (else $GUESTBENCH_TOKEN, …)
  --ca FILE            verify the collector's TLS certificate with this CA (PEM); TLS is off without it
  --cert/--key FILE    this agent's certificate and key, for collectors that require mutual TLS
  --state-dir DIR      where the spool lives (default $GUESTBENCH_STATE_DIR, /var/lib/guestbench as root,
                       else ~/.local/state/guestbench)
  --deliver-timeout S  run: keep trying to deliver for S seconds after the run (default 600); what is
                       left stays in the spool for the next start
  --collector H:P      the collector's gRPC address (else $GUESTBENCH_COLLECTOR, the config file,
                       or the hypervisor's channel)
  --label NAME         names this run's group beside its platform, e.g. "virtio-scsi"; default none
  --platform NAME      declare the platform instead of detecting it: auto, ${PLATFORMS.join(', ')}
  --agent-id ID        default: hostname plus /etc/machine-id
  --root DIR           detect: read /sys, /proc and logs below DIR (for fixtures)
  --disk-dir DIR       where the disk benchmarks put their test file; a disk-backed folder with room
                       for it (default /var/tmp/guestbench; /tmp is often memory)
  --net-target H:P     the sink the network benchmarks load (default: the one the collector announces;
                       for bench, a serve-net child on 127.0.0.1)
  --listen H:P         serve-net: where to listen (default 127.0.0.1:0, the port is printed)
  --web-target URL     the web benchmarks load this server (e.g. the guest's nginx, see deploy/web/)
                       instead of the agent's own; PAGE=URL names one page's URL (pages: static_small,
                       static_large, cgi_small, cgi_large); may be repeated
  --load-generator G   builtin (default) or ab: run the real ApacheBench for the web benchmarks
  --precision P%       bench, run: after the suite, more interleaved passes of each benchmark whose
                       primary metric's 95 % interval is wider than ±P % of its mean (e.g. 5%, or
                       0.05), until all are that precise or the budget is spent; those that are not
                       are named and their samples flagged precision-not-reached (default: the
                       profile's "precision", else off)
  --precision-budget S seconds the extra passes may take in all (default: the profile's
                       "precisionBudgetSeconds", else 600)
  --json               machine-readable output on stdout
`;

export type Command =
  | { readonly kind: 'help' }
  | { readonly kind: 'list'; readonly json: boolean }
  | { readonly kind: 'detect'; readonly json: boolean; readonly root: string }
  | ({ readonly kind: 'bench'; readonly profile: string | undefined; readonly json: boolean; readonly diskDir: string | undefined; readonly netTarget: string | undefined } & WebFlags & PrecisionFlags)
  | { readonly kind: 'serve-net'; readonly listen: string; readonly json: boolean }
  | {
      readonly kind: 'run' | 'daemon' | 'flush';
      readonly collector: string | undefined;
      readonly token: string | undefined;
      readonly tls: { readonly ca: string; readonly cert: string | undefined; readonly key: string | undefined } | undefined;
      readonly stateDir: string | undefined;
      readonly deliverTimeoutSeconds: number;
      readonly label: string | undefined;
      readonly platform: string | undefined;
      readonly profile: string | undefined;
      readonly agentId: string | undefined;
      readonly json: boolean;
      readonly diskDir: string | undefined;
      readonly netTarget: string | undefined;
    } & WebFlags & PrecisionFlags
  | ServeWebCommand
  | LoadCommand
  | { readonly kind: 'config'; readonly json: boolean; readonly collector: string | undefined; readonly token: string | undefined; readonly label: string | undefined; readonly platform: string | undefined; readonly profile: string | undefined };

/** The web benchmarks' flags of bench and run. */
export interface WebFlags {
  readonly webTargets: WebTargets | undefined;
  readonly loadGenerator: 'builtin' | 'ab' | undefined;
}

/** run/bench --precision and --precision-budget; undefined leaves it to the profile. */
export interface PrecisionFlags {
  /** Relative half-width, 0.05 for 5%. */
  readonly precision: number | undefined;
  readonly precisionBudgetSeconds: number | undefined;
}

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export function isUsageError(err: unknown): err is UsageError {
  return err instanceof UsageError;
}

const ALLOWED: Record<string, readonly string[]> = {
  list: ['json'],
  'serve-net': ['listen', 'json'],
  detect: ['json', 'root'],
  bench: ['profile', 'json', 'disk-dir', 'net-target', 'web-target', 'load-generator', 'precision', 'precision-budget'],
  run: ['collector', 'label', 'platform', 'profile', 'agent-id', 'json', 'disk-dir', 'net-target', 'web-target', 'load-generator', 'token', 'ca', 'cert', 'key', 'state-dir', 'deliver-timeout', 'precision', 'precision-budget'],
  daemon: ['collector', 'label', 'platform', 'agent-id', 'token', 'ca', 'cert', 'key', 'state-dir', 'disk-dir', 'net-target', 'web-target', 'load-generator'],
  flush: ['collector', 'agent-id', 'token', 'ca', 'cert', 'key', 'state-dir', 'json'],
  config: ['show', 'json', 'collector', 'token', 'label', 'platform', 'profile'],
};

export function checkLabel(label: string): string {
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(label)) throw new UsageError(`--label: 1 to 64 letters, digits and . _ - (no spaces or slashes), got "${label}"`);
  return label;
}

export function checkPlatform(platform: string): string {
  if (platform !== 'auto' && !(PLATFORMS as readonly string[]).includes(platform)) {
    throw new UsageError(`--platform: auto or one of ${PLATFORMS.join(', ')}, got "${platform}"`);
  }
  return platform;
}

export function checkCollector(address: string): string {
  const m = /^(\[[^\]]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(address);
  if (m === null || Number(m[2]) < 1 || Number(m[2]) > 65535) throw new UsageError(`--collector: expected HOST:PORT such as 192.0.2.10:50051, got "${address}"`);
  return address;
}

/** A sink address to dial: HOST:PORT with a port from 1. */
export function checkNetTarget(address: string): string {
  if (parseHostPort(address) === undefined) throw new UsageError(`--net-target: expected HOST:PORT such as 192.0.2.10:7208, got "${address}"`);
  return address;
}

/** An address to listen on; port 0 picks a free one. */
export function checkListen(address: string): string {
  if (parseHostPort(address, true) === undefined) throw new UsageError(`--listen: expected HOST:PORT such as 0.0.0.0:7208 (port 0 picks one), got "${address}"`);
  return address;
}

export function parseArguments(argv: readonly string[]): Command {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') return { kind: 'help' };
  if (sub === 'load') {
    try {
      return parseLoadArguments(rest);
    } catch (err: unknown) {
      throw new UsageError((err as Error).message);
    }
  }
  if (sub === 'serve-web') {
    try {
      return parseServeWebArguments(rest);
    } catch (err: unknown) {
      throw new UsageError((err as Error).message);
    }
  }
  const allow = ALLOWED[sub];
  if (allow === undefined) throw new UsageError(`unknown command "${sub}" (commands: ${Object.keys(ALLOWED).join(', ')})`);
  let values: Record<string, string | boolean | string[] | undefined>;
  try {
    values = parseArgs({
      args: [...rest],
      options: {
        profile: { type: 'string' }, json: { type: 'boolean' }, root: { type: 'string' }, collector: { type: 'string' },
        token: { type: 'string' }, ca: { type: 'string' }, cert: { type: 'string' }, key: { type: 'string' }, 'state-dir': { type: 'string' },
        'deliver-timeout': { type: 'string' }, show: { type: 'boolean' },
        label: { type: 'string' }, platform: { type: 'string' }, 'agent-id': { type: 'string' }, help: { type: 'boolean', short: 'h' },
        'disk-dir': { type: 'string' }, 'net-target': { type: 'string' }, listen: { type: 'string' },
        'web-target': { type: 'string', multiple: true }, 'load-generator': { type: 'string' },
        precision: { type: 'string' }, 'precision-budget': { type: 'string' },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (err: unknown) {
    throw new UsageError((err as Error).message);
  }
  if (values['help'] === true) return { kind: 'help' };
  for (const k of Object.keys(values)) {
    if (values[k] !== undefined && !allow.includes(k)) throw new UsageError(`${sub}: --${k} does not apply (options: ${allow.map((a) => `--${a}`).join(', ')})`);
  }
  const str = (k: string): string | undefined => values[k] as string | undefined;
  const json = values['json'] === true;
  const diskDir = str('disk-dir') === undefined ? undefined : path.resolve(str('disk-dir') as string);
  const netTarget = str('net-target') === undefined ? undefined : checkNetTarget(str('net-target') as string);
  const web = webFlags(values['web-target'] as string[] | undefined, str('load-generator'));
  const precision = precisionFlags(str('precision'), str('precision-budget'));
  switch (sub) {
    case 'list':
      return { kind: 'list', json };
    case 'detect':
      return { kind: 'detect', json, root: str('root') ?? '/' };
    case 'bench':
      return { kind: 'bench', profile: str('profile'), json, diskDir, netTarget, ...web, ...precision };
    case 'serve-net':
      return { kind: 'serve-net', listen: checkListen(str('listen') ?? '127.0.0.1:0'), json };
    default: {
      if (sub === 'config') {
        if (values['show'] !== true) throw new UsageError('config: say --show');
        return { kind: 'config', json, collector: str('collector'), token: str('token'), label: str('label'), platform: str('platform'), profile: str('profile') };
      }
      const collector = str('collector');
      const ca = str('ca');
      const cert = str('cert');
      const key = str('key');
      if ((cert === undefined) !== (key === undefined)) throw new UsageError('--cert and --key go together (mutual TLS)');
      if (cert !== undefined && ca === undefined) throw new UsageError('--cert/--key need --ca (TLS towards the collector)');
      const timeout = str('deliver-timeout') ?? '600';
      if (!/^[0-9]{1,6}$/.test(timeout)) throw new UsageError(`--deliver-timeout: whole seconds, got "${timeout}"`);
      const token = str('token');
      if (token !== undefined && !/^\S{1,256}$/.test(token)) throw new UsageError('--token: 1 to 256 characters without spaces');
      const label = str('label');
      const platform = str('platform');
      return {
        kind: sub === 'daemon' ? 'daemon' : sub === 'flush' ? 'flush' : 'run',
        collector: collector === undefined ? undefined : checkCollector(collector),
        token,
        tls: ca === undefined ? undefined : { ca: path.resolve(ca), cert: cert === undefined ? undefined : path.resolve(cert), key: key === undefined ? undefined : path.resolve(key) },
        stateDir: str('state-dir') === undefined ? undefined : path.resolve(str('state-dir') as string),
        deliverTimeoutSeconds: Number(timeout),
        label: label === undefined ? undefined : checkLabel(label),
        platform: platform === undefined ? undefined : checkPlatform(platform),
        profile: str('profile'),
        agentId: str('agent-id'),
        json,
        diskDir,
        netTarget,
        ...web,
        ...precision,
      };
    }
  }
}

function webFlags(targets: readonly string[] | undefined, generator: string | undefined): WebFlags {
  if (generator !== undefined && generator !== 'builtin' && generator !== 'ab') {
    throw new UsageError(`--load-generator: builtin or ab, got "${generator}"`);
  }
  try {
    return { webTargets: targets === undefined ? undefined : parseWebTargets(targets), loadGenerator: generator };
  } catch (err: unknown) {
    if (isWebTargetError(err)) throw new UsageError(err.message);
    throw err;
  }
}

/** `5%` or `0.05` → 0.05 (more than 0, less than 100 %); the budget in whole or decimal seconds. */
export function precisionFlags(precision: string | undefined, budget: string | undefined): PrecisionFlags {
  let fraction: number | undefined;
  if (precision !== undefined) {
    const m = /^(\d+(?:\.\d+)?)(%?)$/.exec(precision.trim());
    const n = m === null ? Number.NaN : Number(m[1]) / (m[2] === '%' ? 100 : 1);
    if (!(n > 0 && n < 1)) throw new UsageError(`--precision: a relative half-width above 0 and below 100%, such as 5% or 0.05, got "${precision}"`);
    fraction = n;
  }
  let seconds: number | undefined;
  if (budget !== undefined) {
    seconds = /^\d+(?:\.\d+)?$/.test(budget) ? Number(budget) : Number.NaN;
    if (!(seconds > 0 && seconds <= 86_400)) throw new UsageError(`--precision-budget: seconds above 0 and at most 86400, got "${budget}"`);
  }
  return { precision: fraction, precisionBudgetSeconds: seconds };
}
