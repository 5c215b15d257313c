// Turns the agent's command line into a typed command, or a usage error. Kept apart from
// main() so that both can be tested.
import path from 'node:path';
import { parseArgs } from 'node:util';
import { UsageError, argumentErrorMessage, commandHelp, parseHostPort, parseId, parseLabel, parsePlatform, PLATFORMS, type Parsed } from '@guestbench/proto';
import { isWebTargetError, parseWebTargets, type WebTargets } from '../web/pages';
import { parseServeWebArguments, type ServeWebCommand } from '../web/serve-web';
import { parseLoadArguments, type LoadCommand } from '../load/load-command';
import { isProfileError } from '../profiles/profile';
import { NO_SELECTION, parseBenchmarkList, parseOverride, type Selection } from '../profiles/selection';
import { AGENT_VERSION } from '../version';

export const USAGE = `guestbench-agent — measures what this machine (a guest, or the bare host) gets

Usage:
  guestbench-agent detect [--json] [--root DIR]
  guestbench-agent bench  [--profile NAME|FILE] [--only LIST] [--skip LIST] [--set B.KEY=V…] [--disk-dir DIR] [--net-target HOST:PORT] [--web-target URL…] [--load-generator builtin|ab] [--json]
                          [--precision P% [--precision-budget SECONDS]]
  guestbench-agent run    [--collector HOST:PORT[,HOST:PORT…]] [--label NAME] [--platform auto|NAME] [--profile NAME|FILE] [--agent-id ID]
                          [--only LIST] [--skip LIST] [--set B.KEY=V…] [--offline] [--precision P% [--precision-budget SECONDS]]
                          [--disk-dir DIR] [--net-target HOST:PORT] [--web-target URL…] [--load-generator builtin|ab] [--json]
  guestbench-agent daemon [--collector HOST:PORT[,HOST:PORT…]] [--label NAME] [--platform auto|NAME] [--agent-id ID]
  guestbench-agent flush  [--collector HOST:PORT[,HOST:PORT…]] [--json]
  guestbench-agent config --show [--json]
  (run, daemon and flush also take --token T, --ca FILE, --cert FILE --key FILE, --state-dir DIR)
  guestbench-agent serve-net [--listen HOST:PORT] [--json]
  guestbench-agent serve-web [--listen HOST:PORT] [--large-kib N] [--site DIR | --write-site DIR] [--json]
  guestbench-agent load   URL [-c N] [-n N] [-t SECONDS] [-k] [--rate R] [--threads T] [--generator builtin|ab] [--json]
  guestbench-agent list   [--json]
  guestbench-agent --help | --version
  guestbench-agent COMMAND --help       that command's usage and options

Commands:
  detect   say which platform this is (native, kvm, qemu, vmware, xen, hyperv, other) and why
  bench    run the benchmark suite locally and print the samples; no collector needed
  run      check the collector, run the suite once and report every sample as each benchmark
           finishes; exits 0 when every benchmark measured and every sample was acknowledged,
           3 when the run was partial (some benchmarks failed, the others' samples all
           acknowledged), 1 otherwise
  daemon   stay connected to the collector and run the jobs it hands out (for long-lived guests;
           the systemd unit of a baked image runs \`run\` once per boot instead)
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
  --collector LIST     HOST:PORT of the collector; several, comma-separated, to move to the next when one
                       stops answering (collectors sharing one PostgreSQL database); the same in
                       $GUESTBENCH_COLLECTOR, agent.json and every hypervisor channel
  --profile NAME|FILE  smoke (seconds), quick (about a minute), standard, full; default smoke; or a JSON
                       file of the same shape (see README), e.g. ./mine.json
  --only LIST          run only these benchmarks: ids or categories, comma-separated (cpu,disk.seq_read)
  --skip LIST          leave these out (web); \`guestbench-agent list\` names them
  --set B.KEY=VALUE    change one setting of one benchmark, e.g. disk.seq_read.fileMiB=4096; may be
                       repeated; checked like the profile's settings, and recorded with the samples
  --token TOKEN        the enrollment token from \`guestbench-collector token create\` (else $GUESTBENCH_TOKEN, …)
  --ca FILE            verify the collector's TLS certificate with this CA (PEM); TLS is off without it
  --cert/--key FILE    this agent's certificate and key, for collectors that require mutual TLS
  --state-dir DIR      where the spool lives (default $GUESTBENCH_STATE_DIR, /var/lib/guestbench as root,
                       else ~/.local/state/guestbench)
  --offline            run: start without reaching the collector first (otherwise run checks it, for at
                       most 5 s, and stops at once with the cause); samples wait in the spool until it is back
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
  | { readonly kind: 'help'; readonly command?: string }
  | { readonly kind: 'version' }
  | { readonly kind: 'list'; readonly json: boolean }
  | { readonly kind: 'detect'; readonly json: boolean; readonly root: string }
  | ({
      readonly kind: 'bench';
      readonly profile: string | undefined;
      readonly selection: Selection;
      readonly json: boolean;
      readonly diskDir: string | undefined;
      readonly netTarget: string | undefined;
    } & WebFlags &
      PrecisionFlags)
  | { readonly kind: 'serve-net'; readonly listen: string; readonly json: boolean }
  | ({
      readonly kind: 'run' | 'daemon' | 'flush';
      readonly collector: string | undefined;
      readonly token: string | undefined;
      readonly tls: { readonly ca: string; readonly cert: string | undefined; readonly key: string | undefined } | undefined;
      readonly stateDir: string | undefined;
      readonly deliverTimeoutSeconds: number;
      /** run: start without checking the collector first; deliver when it is back. */
      readonly offline: boolean;
      readonly label: string | undefined;
      readonly platform: string | undefined;
      readonly profile: string | undefined;
      /** --only, --skip and --set (run; empty for daemon and flush, whose jobs carry their own). */
      readonly selection: Selection;
      readonly agentId: string | undefined;
      readonly json: boolean;
      readonly diskDir: string | undefined;
      readonly netTarget: string | undefined;
    } & WebFlags &
      PrecisionFlags)
  | ServeWebCommand
  | LoadCommand
  | {
      readonly kind: 'config';
      readonly json: boolean;
      readonly collector: string | undefined;
      readonly token: string | undefined;
      readonly label: string | undefined;
      readonly platform: string | undefined;
      readonly profile: string | undefined;
    };

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

const ALLOWED: Record<string, readonly string[]> = {
  list: ['json'],
  'serve-net': ['listen', 'json'],
  detect: ['json', 'root'],
  bench: ['profile', 'only', 'skip', 'set', 'json', 'disk-dir', 'net-target', 'web-target', 'load-generator', 'precision', 'precision-budget'],
  run: [
    'collector',
    'label',
    'platform',
    'profile',
    'only',
    'skip',
    'set',
    'agent-id',
    'json',
    'disk-dir',
    'net-target',
    'web-target',
    'load-generator',
    'token',
    'ca',
    'cert',
    'key',
    'state-dir',
    'deliver-timeout',
    'offline',
    'precision',
    'precision-budget',
  ],
  daemon: ['collector', 'label', 'platform', 'agent-id', 'token', 'ca', 'cert', 'key', 'state-dir', 'disk-dir', 'net-target', 'web-target', 'load-generator'],
  flush: ['collector', 'agent-id', 'token', 'ca', 'cert', 'key', 'state-dir', 'json'],
  config: ['show', 'json', 'collector', 'token', 'label', 'platform', 'profile'],
};

/** The flag's text if the shared rule takes it; else a usage error naming the flag and the rule. */
function checked(flag: string, text: string, parsed: Parsed<unknown>): string {
  if (!parsed.ok) throw new UsageError(`${flag}: ${parsed.error}`);
  return text;
}

export function checkLabel(label: string): string {
  return checked('--label', label, parseLabel(label));
}

export function checkPlatform(platform: string): string {
  return checked('--platform', platform, parsePlatform(platform, { allowAuto: true }));
}

/** HOST:PORT, or several comma-separated for failover (the config layer checks them fully). */
export function checkCollector(address: string): string {
  // Several addresses, comma-separated: the agent fails over from one to the next.
  for (const item of address.split(',')) {
    const parsed = parseHostPort(item);
    if (!parsed.ok) throw new UsageError(`--collector: ${parsed.error}${item === address ? '' : ` (in the list ${JSON.stringify(address)})`}`);
  }
  return address;
}

/** A sink address to dial: HOST:PORT with a port from 1. */
export function checkNetTarget(address: string): string {
  return checked('--net-target', address, parseHostPort(address));
}

/** An address to listen on; port 0 picks a free one. */
export function checkListen(address: string): string {
  return checked('--listen', address, parseHostPort(address, { allowZero: true }));
}

/** Every command, for the "unknown command" message. */
export const COMMANDS: readonly string[] = ['detect', 'bench', 'run', 'daemon', 'flush', 'config', 'serve-net', 'serve-web', 'load', 'list'];

/** The help of one command (load and serve-web have their own, longer ones). */
export function agentCommandHelp(command: string): string {
  return commandHelp(USAGE, 'guestbench-agent', command, ALLOWED[command] ?? []);
}

export function parseArguments(argv: readonly string[]): Command {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '--help' || sub === '-h') return { kind: 'help' };
  if (sub === '--version' || sub === '-V' || sub === 'version') return { kind: 'version' };
  if (sub === 'help') return rest[0] !== undefined && ALLOWED[rest[0]] !== undefined ? { kind: 'help', command: rest[0] } : { kind: 'help' };
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
  if (allow === undefined) throw new UsageError(`unknown command "${sub}" (commands: ${COMMANDS.join(', ')})`);
  let values: Record<string, string | boolean | string[] | undefined>;
  try {
    values = parseArgs({
      args: [...rest],
      options: {
        profile: { type: 'string' },
        json: { type: 'boolean' },
        root: { type: 'string' },
        collector: { type: 'string' },
        token: { type: 'string' },
        ca: { type: 'string' },
        cert: { type: 'string' },
        key: { type: 'string' },
        'state-dir': { type: 'string' },
        'deliver-timeout': { type: 'string' },
        show: { type: 'boolean' },
        label: { type: 'string' },
        platform: { type: 'string' },
        'agent-id': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        'disk-dir': { type: 'string' },
        'net-target': { type: 'string' },
        listen: { type: 'string' },
        'web-target': { type: 'string', multiple: true },
        'load-generator': { type: 'string' },
        only: { type: 'string' },
        skip: { type: 'string' },
        set: { type: 'string', multiple: true },
        offline: { type: 'boolean' },
        precision: { type: 'string' },
        'precision-budget': { type: 'string' },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (err: unknown) {
    throw new UsageError(argumentErrorMessage(err, sub, allow));
  }
  if (values['help'] === true) return { kind: 'help', command: sub };
  for (const k of Object.keys(values)) {
    if (values[k] !== undefined && !allow.includes(k))
      throw new UsageError(`${sub}: --${k} does not apply (options: ${allow.map((a) => `--${a}`).join(', ')})`);
  }
  const str = (k: string): string | undefined => values[k] as string | undefined;
  const json = values['json'] === true;
  const diskDir = str('disk-dir') === undefined ? undefined : path.resolve(str('disk-dir') as string);
  const netTarget = str('net-target') === undefined ? undefined : checkNetTarget(str('net-target') as string);
  const web = webFlags(values['web-target'] as string[] | undefined, str('load-generator'));
  const selection = selectionFlags(str('only'), str('skip'), values['set'] as string[] | undefined);
  const precision = precisionFlags(str('precision'), str('precision-budget'));
  switch (sub) {
    case 'list':
      return { kind: 'list', json };
    case 'detect':
      return { kind: 'detect', json, root: str('root') ?? '/' };
    case 'bench':
      return { kind: 'bench', profile: str('profile'), selection, json, diskDir, netTarget, ...web, ...precision };
    case 'serve-net':
      return { kind: 'serve-net', listen: checkListen(str('listen') ?? '127.0.0.1:0'), json };
    default: {
      if (sub === 'config') {
        if (values['show'] !== true) throw new UsageError('config: say --show');
        return {
          kind: 'config',
          json,
          collector: str('collector'),
          token: str('token'),
          label: str('label'),
          platform: str('platform'),
          profile: str('profile'),
        };
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
      const agentId = str('agent-id');
      return {
        kind: sub === 'daemon' ? 'daemon' : sub === 'flush' ? 'flush' : 'run',
        collector: collector === undefined ? undefined : checkCollector(collector),
        token,
        tls:
          ca === undefined
            ? undefined
            : { ca: path.resolve(ca), cert: cert === undefined ? undefined : path.resolve(cert), key: key === undefined ? undefined : path.resolve(key) },
        stateDir: str('state-dir') === undefined ? undefined : path.resolve(str('state-dir') as string),
        deliverTimeoutSeconds: Number(timeout),
        offline: values['offline'] === true,
        label: label === undefined ? undefined : checkLabel(label),
        platform: platform === undefined ? undefined : checkPlatform(platform),
        profile: str('profile'),
        selection,
        agentId: agentId === undefined ? undefined : checked('--agent-id', agentId, parseId(agentId)),
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

function selectionFlags(only: string | undefined, skip: string | undefined, set: readonly string[] | undefined): Selection {
  if (only === undefined && skip === undefined && set === undefined) return NO_SELECTION;
  try {
    return {
      only: only === undefined ? [] : parseBenchmarkList('--only', only),
      skip: skip === undefined ? [] : parseBenchmarkList('--skip', skip),
      set: (set ?? []).map(parseOverride),
    };
  } catch (err: unknown) {
    if (isProfileError(err)) throw new UsageError(err.message);
    throw err;
  }
}

/** The version line of --version. */
export function versionText(): string {
  return `guestbench-agent ${AGENT_VERSION} (Node ${process.version})\n`;
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
