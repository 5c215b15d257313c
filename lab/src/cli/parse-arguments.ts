// guestbench-lab's command line, parsed into a typed command before anything runs.

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export function isUsageError(err: unknown): err is UsageError {
  return err instanceof UsageError;
}

/** Where the matrix comes from: a file, or one of the built-in ones. */
export type MatrixSource = { readonly kind: 'file'; readonly path: string } | { readonly kind: 'builtin'; readonly name: string };

/** Settings that override the matrix file's. */
export interface MatrixOverrides {
  readonly image?: string;
  readonly collector?: string;
  readonly profile?: string;
}

export type Command =
  | { readonly command: 'help'; readonly topic?: string }
  | { readonly command: 'plan'; readonly matrix: MatrixSource; readonly out: string; readonly overrides: MatrixOverrides; readonly json: boolean }
  | {
      readonly command: 'run';
      readonly matrix: MatrixSource;
      readonly overrides: MatrixOverrides;
      /** gRPC address of the collector as this host reaches it; derived from the matrix's when absent. */
      readonly grpc?: string;
      readonly uri: string;
      /** Where overlays and serial logs go. */
      readonly workDir: string;
      readonly keepLogs: boolean;
      readonly json: boolean;
    }
  | { readonly command: 'bake'; readonly image: string; readonly out?: string; readonly agentConfig?: string; readonly json: boolean };

export const USAGE = `Usage: guestbench-lab COMMAND [options]

  plan MATRIX|--builtin NAME --out DIR [--json]
      write one libvirt domain XML per configuration into DIR (and plan.json)
  run MATRIX|--builtin NAME [--grpc HOST:PORT] [--uri qemu:///system] [--work-dir DIR] [--json]
      run every configuration through libvirt, one guest at a time, interleaved with native
      runs of the agent on this host; record each run's configuration with the collector
  bake IMAGE [--out COPY] [--agent-config FILE] [--json]
      put the agent (bundle, Node runtime, systemd unit, config) into a qcow2, raw or VMDK
      image with libguestfs; with --out, into a copy (IMAGE stays as it is)

Matrix options (override the file's):
  --image FILE          base disk image
  --collector HOST:PORT collector as the guests see it (10.0.2.2:PORT under user networking)
  --profile NAME        agent profile (smoke, quick)
Built-in matrices: study-2009 (tuned virtio guest vs default devices, both against native).

Environment for run: GUESTBENCH_OPERATOR_TOKEN (records configurations, reads runs),
GUESTBENCH_GUEST_TOKENS=T1,T2,… (one agent token per guest run, handed to the guests; a token
binds one agent id), GUESTBENCH_NATIVE_TOKEN (native runs); a one-guest matrix may use
GUESTBENCH_GUEST_TOKEN; both fall back to GUESTBENCH_TOKEN. Not needed when the collector runs without auth.
Exit codes: 0 every configuration ran, 1 one or more failed, 2 bad arguments or matrix,
130 interrupted (guests and overlays are removed first).`;

const HOST_PORT = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/;

export function parseArguments(argv: readonly string[]): Command {
  const [command, ...rest] = argv;
  if (command === undefined || command === '-h' || command === '--help' || command === 'help') return { command: 'help', topic: rest[0] };
  if (!['plan', 'run', 'bake'].includes(command)) throw new UsageError(`unknown command "${command}"; use plan, run or bake`);
  if (rest.includes('-h') || rest.includes('--help')) return { command: 'help', topic: command };

  const positional: string[] = [];
  const flags = new Map<string, string | true>();
  const valued = new Set(['--out', '--builtin', '--image', '--collector', '--profile', '--grpc', '--uri', '--work-dir', '--agent-config']);
  const boolean = new Set(['--json', '--keep-logs']);
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i]!;
    if (!arg.startsWith('--')) {
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    if (boolean.has(flag) && eq < 0) flags.set(flag, true);
    else if (valued.has(flag)) {
      const value = eq > 0 ? arg.slice(eq + 1) : rest[++i];
      if (value === undefined || value === '' || (eq < 0 && value.startsWith('--'))) throw new UsageError(`${flag} needs a value`);
      flags.set(flag, value);
    } else throw new UsageError(`unknown option ${arg} for ${command}; see guestbench-lab ${command} --help`);
  }
  const str = (f: string): string | undefined => {
    const v = flags.get(f);
    return typeof v === 'string' ? v : undefined;
  };
  const allowed = (list: readonly string[]): void => {
    for (const f of flags.keys()) if (!list.includes(f)) throw new UsageError(`${f} does not apply to ${command}`);
  };
  const json = flags.get('--json') === true;

  if (command === 'bake') {
    allowed(['--out', '--agent-config', '--json']);
    if (positional.length !== 1) throw new UsageError(`bake takes one IMAGE, got ${positional.length}`);
    return { command: 'bake', image: positional[0]!, out: str('--out'), agentConfig: str('--agent-config'), json };
  }

  const builtin = str('--builtin');
  if (builtin !== undefined && positional.length > 0) throw new UsageError('give a MATRIX file or --builtin NAME, not both');
  if (builtin === undefined && positional.length !== 1) throw new UsageError(`${command} takes one MATRIX file (or --builtin NAME), got ${positional.length}`);
  const matrix: MatrixSource = builtin !== undefined ? { kind: 'builtin', name: builtin } : { kind: 'file', path: positional[0]! };
  const collector = str('--collector');
  if (collector !== undefined && !HOST_PORT.test(collector)) throw new UsageError(`--collector must be HOST:PORT, got "${collector}"`);
  const overrides: MatrixOverrides = { image: str('--image'), collector, profile: str('--profile') };

  if (command === 'plan') {
    allowed(['--out', '--builtin', '--image', '--collector', '--profile', '--json']);
    const out = str('--out');
    if (out === undefined) throw new UsageError('plan needs --out DIR');
    return { command: 'plan', matrix, out, overrides, json };
  }
  allowed(['--builtin', '--image', '--collector', '--profile', '--grpc', '--uri', '--work-dir', '--keep-logs', '--json']);
  const grpc = str('--grpc');
  if (grpc !== undefined && !HOST_PORT.test(grpc)) throw new UsageError(`--grpc must be HOST:PORT, got "${grpc}"`);
  const uri = str('--uri') ?? 'qemu:///system';
  if (!/^qemu(\+\w+)?:\/\/[^\s]*\/(system|session)$/.test(uri)) throw new UsageError(`--uri must be a libvirt QEMU URI such as qemu:///system, got "${uri}"`);
  return {
    command: 'run',
    matrix,
    overrides,
    grpc,
    uri,
    workDir: str('--work-dir') ?? '/var/lib/libvirt/images/guestbench-lab',
    keepLogs: flags.get('--keep-logs') === true,
    json,
  };
}
