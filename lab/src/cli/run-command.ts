// guestbench-lab run: checks everything it needs before the first guest (matrix, image, libvirt,
// collector), then runs the matrix and prints what each configuration gave.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { CollectorClient } from '../collector/collector-client';
import { detectAccelerator, hostVersions } from '../libvirt/host';
import { checkQemuCanReach } from '../libvirt/qemu-access';
import { Virsh } from '../libvirt/virsh';
import { loadMatrix, resolveBoot } from '../matrix/load-matrix';
import { planGuests } from '../matrix/plan';
import { runMatrix } from '../run/run-matrix';
import { UsageError, type Command } from './parse-arguments';

/** The address the host reaches the collector at: QEMU's user network maps 10.0.2.2 to loopback. */
export function hostSideAddress(guestSide: string): string {
  const m = /^(.*):(\d+)$/.exec(guestSide);
  if (m === null) return guestSide;
  return m[1] === '10.0.2.2' ? `127.0.0.1:${m[2]}` : guestSide;
}

function agentCli(): string {
  const fromEnv = process.env['GUESTBENCH_AGENT_CLI'];
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  try {
    return join(dirname(require.resolve('@guestbench/agent/package.json')), 'dist', 'cli', 'main.js');
  } catch {
    return resolve(__dirname, '..', '..', '..', 'agent', 'dist', 'cli', 'main.js');
  }
}

/**
 * One agent token per guest run: each guest enrolls an agent id of its own, and a token binds
 * the one agent id that first enrolls with it (docs/guarantees.md). GUESTBENCH_GUEST_TOKENS
 * lists them comma-separated; a single GUESTBENCH_GUEST_TOKEN (or GUESTBENCH_TOKEN) serves a
 * matrix of one guest run. None: the collector takes no tokens (--insecure-no-auth).
 */
export function guestTokensFromEnv(env: NodeJS.ProcessEnv, guestRuns: number): string[] {
  const list = (env['GUESTBENCH_GUEST_TOKENS'] ?? '')
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t !== '');
  const single = env['GUESTBENCH_GUEST_TOKEN'] || env['GUESTBENCH_TOKEN'] || undefined;
  const tokens = list.length > 0 ? list : single === undefined ? [] : [single];
  if (tokens.length > 0 && tokens.length < guestRuns) {
    throw new UsageError(
      `${guestRuns} guest runs need ${guestRuns} agent tokens, one each (a token binds the one agent id that first enrolls with it), got ${tokens.length}: ` +
        `make them with \`guestbench-collector token create --name lab-N\` and give them as GUESTBENCH_GUEST_TOKENS=T1,T2,…`,
    );
  }
  if (new Set(tokens).size !== tokens.length) throw new UsageError('GUESTBENCH_GUEST_TOKENS lists a token twice; each guest run needs a token of its own');
  return tokens;
}

export async function runCommand(cmd: Extract<Command, { command: 'run' }>, out: (line: string) => void): Promise<number> {
  const accel = detectAccelerator();
  const matrix = await loadMatrix(cmd.matrix, cmd.overrides, accel.accelerator);
  const guests = planGuests(matrix, accel.accelerator);
  if (!existsSync(matrix.image))
    throw new UsageError(`image ${matrix.image} does not exist (build it with deploy/image/build-image.sh, or set image: in the matrix)`);
  const agent = agentCli();
  if (matrix.native && !existsSync(agent)) throw new UsageError(`guestbench-agent is not built at ${agent} (npm run build), or set GUESTBENCH_AGENT_CLI`);
  const directBoot = resolveBoot(matrix);
  const workDir = resolve(cmd.workDir);
  await mkdir(workDir, { recursive: true, mode: 0o755 });
  if (cmd.uri.endsWith('/system')) {
    const problems = checkQemuCanReach([
      join(workDir, 'overlay.qcow2'),
      matrix.image,
      ...(directBoot === undefined ? [] : [directBoot.kernel, directBoot.initrd]),
    ]);
    if (problems.length > 0) throw new UsageError(problems.join('\n'));
  }
  const guestTokens = guestTokensFromEnv(process.env, guests.length * matrix.repetitions);
  const virsh = new Virsh(cmd.uri);
  await virsh.check();
  const grpcAddress = cmd.grpc ?? hostSideAddress(matrix.collector);
  const operatorToken = process.env['GUESTBENCH_OPERATOR_TOKEN'] || undefined;
  const collector = new CollectorClient(grpcAddress, operatorToken);
  const log = (line: string): void => void process.stderr.write(`guestbench-lab: ${line}\n`);
  try {
    // The collector answers before any guest is started: a wrong address fails now, not after a boot.
    await collector.runsLabelled('', '').catch((err: unknown) => {
      throw new UsageError(`the collector does not answer at ${grpcAddress} (${(err as Error).message}); give --grpc HOST:PORT as this host reaches it`);
    });
    const versions = await hostVersions(cmd.uri);
    log(
      `domain type ${accel.domainType}: ${accel.whyNotKvm === undefined ? 'KVM' : `TCG emulation, no KVM (${accel.whyNotKvm})`}; QEMU ${versions.qemu || '?'}, libvirt ${versions.libvirt || '?'}, kernel ${versions.kernel}`,
    );
    log(`boot: ${directBoot === undefined ? "the image's own boot loader" : `kernel ${directBoot.kernel} (direct, from the image's manifest)`}`);
    log(
      `${guests.length} configuration(s) × ${matrix.repetitions}${matrix.native ? `, and ${guests.length * matrix.repetitions} native run(s)` : ''}, seed ${matrix.seed}; collector ${matrix.collector} (guests), ${grpcAddress} (this host)`,
    );

    const interrupt = new AbortController();
    const onSignal = (sig: string): void => {
      log(`${sig}: stopping; the current guest and its overlay are removed first`);
      interrupt.abort();
    };
    const handlers = (['SIGINT', 'SIGTERM', 'SIGHUP'] as const).map((sig) => {
      const h = (): void => onSignal(sig);
      process.on(sig, h);
      return [sig, h] as const;
    });
    let result;
    try {
      result = await runMatrix({
        matrix,
        guests,
        accelerator: accel,
        versions,
        directBoot,
        virsh,
        collector,
        grpcAddress,
        workDir,
        session: randomBytes(3).toString('hex'),
        guestTokens,
        nativeToken: process.env['GUESTBENCH_NATIVE_TOKEN'] || process.env['GUESTBENCH_TOKEN'] || undefined,
        agentCli: agent,
        keepLogs: cmd.keepLogs,
        signal: interrupt.signal,
        progress: log,
      });
    } finally {
      for (const [sig, h] of handlers) process.off(sig, h);
    }
    const failed = result.results.filter((r) => !r.ok);
    if (cmd.json) {
      out(JSON.stringify({ accelerator: accel.accelerator, domainType: accel.domainType, whyNotKvm: accel.whyNotKvm, versions, ...result }, null, 2));
    } else {
      out(
        `${result.interrupted ? 'Interrupted' : 'Done'} in ${result.seconds} s: ${result.results.length - failed.length} of ${result.results.length} run(s) ended well.`,
      );
      for (const r of result.results) {
        const overhead =
          r.overheadSeconds === undefined
            ? ''
            : `, lab overhead ${r.overheadSeconds} s (${Object.entries(r.phases)
                .map(([k, v]) => `${k} ${v}`)
                .join(', ')})`;
        out(
          `  ${r.ok ? 'ok    ' : 'FAILED'} ${r.task}: ${r.seconds} s${r.runId === undefined ? '' : `, run ${r.runId}`}${overhead}${r.error === undefined ? '' : `: ${r.error}`}`,
        );
      }
      out(`The comparison and each setting's effect: guestbench-collector report, or GET /api/v1/configurations?format=text on the collector's HTTP address.`);
    }
    if (result.interrupted) return 130;
    return failed.length === 0 ? 0 : 1;
  } finally {
    collector.close();
  }
}
