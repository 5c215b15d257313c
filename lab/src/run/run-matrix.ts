// Runs a matrix: each configuration's guest through libvirt, one at a time, on a throw-away
// overlay of the base image, interleaved in a seeded random order with native runs of the agent
// on this host. Each guest's run is followed through the collector's API and gets its
// configuration recorded. Whatever happens (a failed guest, Ctrl-C), no domain or overlay stays.
import { spawn } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { configurationSettings } from '../matrix/axes';
import type { Matrix } from '../matrix/parse-matrix';
import type { PlannedGuest } from '../matrix/plan';
import type { CollectorClient, LabRun } from '../collector/collector-client';
import { domainXml } from '../libvirt/domain-xml';
import { guestName } from '../libvirt/guest-name';
import type { DirectBoot } from '../libvirt/direct-boot';
import type { Accelerator, HostVersions } from '../libvirt/host';
import { run, type Virsh } from '../libvirt/virsh';

export type Task =
  { readonly kind: 'guest'; readonly guest: PlannedGuest; readonly repetition: number } | { readonly kind: 'native'; readonly repetition: number };

export interface TaskResult {
  readonly task: string;
  readonly kind: 'guest' | 'native';
  readonly label: string;
  readonly ok: boolean;
  readonly error?: string;
  readonly runId?: string;
  readonly group?: string;
  readonly seconds: number;
  /** Seconds of each phase, in order. */
  readonly phases: Readonly<Record<string, number>>;
  /** What the lab itself spent (overlay, define, start, destroy, undefine, clean-up), beyond boot and run. */
  readonly overheadSeconds?: number;
}

export interface RunMatrixOptions {
  readonly matrix: Matrix;
  readonly guests: readonly PlannedGuest[];
  readonly accelerator: Accelerator;
  readonly versions: HostVersions;
  readonly directBoot: DirectBoot | undefined;
  readonly virsh: Virsh;
  readonly collector: CollectorClient;
  /** The collector's gRPC address as this host reaches it, for native runs. */
  readonly grpcAddress: string;
  readonly workDir: string;
  /** A short id naming this session's domains and overlays. */
  readonly session: string;
  /**
   * Agent tokens for the guests, one per guest run in the order they start: a token binds the
   * one agent id that first enrolls with it, and every guest is an agent of its own. Empty when
   * the collector takes no tokens.
   */
  readonly guestTokens: readonly string[];
  readonly nativeToken: string | undefined;
  /** guestbench-agent's CLI (for native runs). */
  readonly agentCli: string;
  readonly keepLogs: boolean;
  readonly signal: AbortSignal;
  readonly progress: (line: string) => void;
  /** How often the collector is asked about a run. @default 1000 */
  readonly pollMs?: number;
}

/** A small, seeded PRNG (mulberry32): the same seed gives the same order on every host. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Every guest × repetition, and as many native runs, shuffled by the seed. */
export function schedule(guests: readonly PlannedGuest[], repetitions: number, native: boolean, seed: number): Task[] {
  const tasks: Task[] = [];
  for (let r = 1; r <= repetitions; r++) for (const g of guests) tasks.push({ kind: 'guest', guest: g, repetition: r });
  const guestTasks = tasks.length;
  if (native) for (let r = 1; r <= guestTasks; r++) tasks.push({ kind: 'native', repetition: r });
  const random = seededRandom(seed);
  for (let i = tasks.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [tasks[i], tasks[j]] = [tasks[j]!, tasks[i]!];
  }
  return tasks;
}

const seconds = (ms: number): number => Math.round(ms / 100) / 10;

function fmtDuration(s: number): string {
  if (s < 90) return `${Math.round(s)} s`;
  return `${Math.floor(s / 60)} min ${String(Math.round(s % 60)).padStart(2, '0')} s`;
}

class Aborted extends Error {
  constructor() {
    super('interrupted');
    this.name = 'Aborted';
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new Aborted());
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(t);
      reject(new Aborted());
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

export interface RunMatrixResult {
  readonly results: readonly TaskResult[];
  readonly interrupted: boolean;
  readonly seconds: number;
}

export async function runMatrix(o: RunMatrixOptions): Promise<RunMatrixResult> {
  const tasks = schedule(o.guests, o.matrix.repetitions, o.matrix.native, o.matrix.seed);
  const results: TaskResult[] = [];
  const started = Date.now();
  const pollMs = o.pollMs ?? 1000;
  await mkdir(o.workDir, { recursive: true });
  let interrupted = false;
  let guestRuns = 0;
  for (const [i, task] of tasks.entries()) {
    if (o.signal.aborted) {
      interrupted = true;
      break;
    }
    const label = task.kind === 'guest' ? task.guest.label : 'native';
    const taskName = task.kind === 'guest' ? `guest ${label} #${task.repetition}` : `native #${task.repetition}`;
    const done = results.reduce((s, r) => s + r.seconds, 0);
    const taskStarted = Date.now();
    const say = (phase: string): void => {
      const elapsed = (Date.now() - started) / 1000;
      // ETA: the mean time per task so far (this one's elapsed time when none has finished).
      const perTask = results.length > 0 ? done / results.length : (Date.now() - taskStarted) / 1000;
      const eta = perTask * (tasks.length - i) - (results.length > 0 ? (Date.now() - taskStarted) / 1000 : 0);
      o.progress(
        `[${i + 1}/${tasks.length}] ${taskName}: ${phase} (elapsed ${fmtDuration(elapsed)}${results.length > 0 ? `, ETA ${fmtDuration(Math.max(0, eta))}` : ''})`,
      );
    };
    let result: TaskResult;
    try {
      result = task.kind === 'guest' ? await runGuestTask(o, task, i + 1, o.guestTokens[guestRuns++], say, pollMs) : await runNativeTask(o, task, say);
    } catch (err: unknown) {
      if (err instanceof Aborted) {
        interrupted = true;
        results.push({ task: taskName, kind: task.kind, label, ok: false, error: 'interrupted', seconds: seconds(Date.now() - taskStarted), phases: {} });
        break;
      }
      result = { task: taskName, kind: task.kind, label, ok: false, error: (err as Error).message, seconds: seconds(Date.now() - taskStarted), phases: {} };
    }
    results.push({ ...result, task: taskName });
    say(
      result.ok
        ? `done in ${fmtDuration(result.seconds)}${result.overheadSeconds === undefined ? '' : `, lab overhead ${result.overheadSeconds.toFixed(1)} s`}`
        : `FAILED: ${result.error}`,
    );
  }
  return { results, interrupted: interrupted || o.signal.aborted, seconds: seconds(Date.now() - started) };
}

/**
 * Waits for a run under `label` that was not there before and satisfies `until`. When `gone`
 * says the guest has stopped, the collector is asked once more (a guest may end its run and
 * power off between two polls) before giving up with gone's reason.
 */
async function waitForRun(
  o: RunMatrixOptions,
  label: string,
  known: ReadonlySet<string>,
  until: (r: LabRun) => boolean,
  gone: () => Promise<string | undefined>,
  deadline: number,
  pollMs: number,
): Promise<LabRun> {
  const look = async (): Promise<LabRun | undefined> => {
    const fresh = (await o.collector.runsLabelled(label)).filter((r) => !known.has(r.id));
    if (fresh.length > 1) throw new Error(`${fresh.length} new runs under label ${label}: another agent uses it; give each lab its own collector or labels`);
    return fresh[0] !== undefined && until(fresh[0]) ? fresh[0] : undefined;
  };
  for (;;) {
    const found = await look();
    if (found !== undefined) return found;
    const why = await gone();
    if (why !== undefined) {
      const last = await look();
      if (last !== undefined) return last;
      throw new Error(why);
    }
    if (Date.now() > deadline)
      throw new Error(`no run ${until.name === 'started' ? 'started' : 'end'} within the matrix's timeout of ${o.matrix.timeoutSeconds} s`);
    await sleep(pollMs, o.signal);
  }
}

async function runGuestTask(
  o: RunMatrixOptions,
  task: Extract<Task, { kind: 'guest' }>,
  index: number,
  token: string | undefined,
  say: (phase: string) => void,
  pollMs: number,
): Promise<TaskResult> {
  const g = task.guest;
  const name = guestName(o.session, index);
  const overlay = join(o.workDir, `${name}.qcow2`);
  const xmlFile = join(o.workDir, `${name}.xml`);
  const serialLog = join(o.workDir, `${name}.serial.log`);
  const phases: Record<string, number> = {};
  const t0 = Date.now();
  let mark = t0;
  const phase = (p: string): void => {
    const now = Date.now();
    phases[p] = seconds(now - mark);
    mark = now;
  };
  let runId: string | undefined;
  let group: string | undefined;
  let failure: string | undefined;
  try {
    say('overlay');
    const q = await run('qemu-img', [
      'create',
      '-q',
      '-f',
      'qcow2',
      '-F',
      o.matrix.image.endsWith('.vmdk') ? 'vmdk' : o.matrix.image.endsWith('.qcow2') ? 'qcow2' : 'raw',
      '-b',
      o.matrix.image,
      overlay,
    ]);
    if (q.code !== 0) throw new Error(`qemu-img create: ${q.stderr.trim()}`);
    phase('overlay');
    const oem: Record<string, string> = { collector: o.matrix.collector, label: g.label, profile: o.matrix.profile };
    if (token !== undefined) oem['token'] = token;
    await writeFile(
      xmlFile,
      domainXml({
        name,
        config: g.config,
        domainType: o.accelerator.domainType,
        disk: { path: overlay, format: 'qcow2' },
        network: o.matrix.network,
        oem,
        xmlFragment: o.matrix.xmlFragments[g.config.xml] ?? '',
        serialLog,
        directBoot: o.directBoot,
      }),
      { mode: 0o600 },
    );
    const known = new Set((await o.collector.runsLabelled(g.label)).map((r) => r.id));
    say('define');
    await o.virsh.define(xmlFile);
    phase('define');
    say('start');
    await o.virsh.start(name);
    phase('start');
    say("boot (waiting for the agent's run)");
    const deadline = Date.now() + o.matrix.timeoutSeconds * 1000;
    // Only a domain that is off (or gone) has stopped: "in shutdown", "paused", "blocked" are
    // still active states of a running QEMU.
    const gone = async (): Promise<string | undefined> => {
      const state = await o.virsh.state(name);
      return state !== undefined && state !== 'shut off' && state !== 'crashed'
        ? undefined
        : `the guest stopped (${state ?? 'gone'}) before its run ended; serial console in ${serialLog}`;
    };
    const started = (): boolean => true;
    const startedRun = await waitForRun(o, g.label, known, started, gone, deadline, pollMs);
    runId = startedRun.id;
    phase('boot');
    say(`run ${runId}`);
    const ended = await waitForRun(o, g.label, known, (r) => r.status !== 'running', gone, deadline, pollMs);
    phase('run');
    group = await o.collector.recordRunConfiguration({
      runId: ended.id,
      settings: configurationSettings(g.config),
      hostKernel: o.versions.kernel,
      qemuVersion: o.versions.qemu,
      libvirtVersion: o.versions.libvirt,
      accelerator: o.accelerator.accelerator,
    });
    phase('record');
    if (ended.status !== 'completed') failure = `run ${ended.id} ended ${ended.status}${ended.error === '' ? '' : `: ${ended.error}`}`;
  } catch (err: unknown) {
    if (err instanceof Aborted) throw err;
    failure = (err as Error).message;
  } finally {
    say('clean up');
    // Interrupted or not: the guest goes, and its overlay with it.
    await o.virsh.destroyAndUndefine(name).catch((err: unknown) => {
      failure = failure ?? `clean-up: ${(err as Error).message}`;
    });
    await rm(overlay, { force: true });
    await rm(xmlFile, { force: true });
    if (!o.keepLogs && failure === undefined) await rm(serialLog, { force: true });
    phase('clean-up');
  }
  const overhead = ['overlay', 'define', 'start', 'record', 'clean-up'].reduce((s, p) => s + (phases[p] ?? 0), 0);
  return {
    task: '',
    kind: 'guest',
    label: g.label,
    ok: failure === undefined,
    error: failure,
    runId,
    group,
    seconds: seconds(Date.now() - t0),
    phases,
    overheadSeconds: Math.round(overhead * 10) / 10,
  };
}

async function runNativeTask(o: RunMatrixOptions, _task: Extract<Task, { kind: 'native' }>, say: (phase: string) => void): Promise<TaskResult> {
  const t0 = Date.now();
  say('agent run on this host');
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (o.nativeToken !== undefined) env['GUESTBENCH_TOKEN'] = o.nativeToken;
  const child = spawn(
    process.execPath,
    [
      o.agentCli,
      'run',
      '--collector',
      o.grpcAddress,
      '--platform',
      'native',
      '--profile',
      o.matrix.profile,
      '--state-dir',
      join(o.workDir, 'native-agent-state'),
      '--json',
    ],
    { env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
  child.stderr.on('data', (c: Buffer) => (stderr = (stderr + c.toString('utf8')).slice(-4000)));
  // The agent stops at SIGINT after its current benchmark; one that hangs (a collector gone) is
  // killed after a grace period, so an interrupted lab always ends.
  let killTimer: NodeJS.Timeout | undefined;
  const onAbort = (): void => {
    child.kill('SIGINT');
    killTimer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  };
  o.signal.addEventListener('abort', onAbort, { once: true });
  const code = await new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? 1)));
  o.signal.removeEventListener('abort', onAbort);
  clearTimeout(killTimer);
  if (o.signal.aborted) throw new Aborted();
  const runId = /"runId"\s*:\s*"([^"]+)"/.exec(stdout)?.[1];
  const ok = code === 0;
  return {
    task: '',
    kind: 'native',
    label: 'native',
    ok,
    runId,
    group: 'native',
    error: ok ? undefined : `agent exited ${code}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`,
    seconds: seconds(Date.now() - t0),
    phases: { run: seconds(Date.now() - t0) },
  };
}
