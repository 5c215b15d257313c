// sys.ctxswitch: passes a one-byte token between this process and a child over two pipes
// (the child is `cat`, which writes back each byte it reads). Every round trip blocks and
// wakes each process once. Both are pinned to one CPU by default, so each round trip is
// two real context switches; with crossCpu the child runs on another CPU and each wake-up
// is an inter-processor interrupt instead, which in a guest is an exit to the hypervisor
// unless the CPU virtualizes interrupts, and an idle virtual CPU must be woken from halt.
// Left to the scheduler the two modes alternate: 17 000 or 83 000 round trips/s here.
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { ProfileError } from '../../profiles/profile';
import { calibrateAsync, now } from '../calibrate';
import { parseNumberSettings } from '../settings';
import type { BenchmarkDefinition, PreparedBenchmark } from '../types';
import { allowedCpus, pinThread } from './cpu-affinity';
import { EVERY_PROFILE } from '../../profiles/profile-names';

export interface CtxswitchSettings {
  /** At least this many round trips per trial, however slow the machine. @default 100 */
  readonly minRoundTrips: number;
  /** 0: both processes on one CPU (context switches); 1: on two CPUs (wake-up IPIs). @default 0 */
  readonly crossCpu: number;
}

/** The echoing peer: in every Linux guest, and it writes each read() back at once. */
export const PEER_COMMAND = 'cat';

type Peer = ChildProcessByStdio<Writable, Readable, null>;

const TOKEN = Buffer.from([0x2a]);

/** A child `cat` and the ping-pong over its stdin and stdout. */
export class PingPong {
  private readonly child: Peer;
  private readonly exited: Promise<void>;
  private waiting: { left: number; resolve: () => void; reject: (err: Error) => void } | undefined;
  private failure: Error | undefined;

  /** @param command the echoing peer; any program that copies stdin to stdout unbuffered. */
  constructor(command: string = PEER_COMMAND, args: readonly string[] = []) {
    this.child = spawn(command, args, { stdio: ['pipe', 'pipe', 'ignore'] });
    this.exited = new Promise((resolve) => this.child.once('close', () => resolve()));
    this.child.once('error', (err) => this.fail(err));
    this.child.stdin.on('error', (err) => this.fail(err));
    this.child.once('exit', (code, signal) => this.fail(new Error(`sys.ctxswitch: ${command} exited early (${signal ?? String(code)})`)));
    this.child.stdout.on('data', (chunk: Buffer) => this.onData(chunk));
  }

  /**
   * Sends the token `count` times, each time after the previous one came back, and
   * resolves with the seconds taken. The bytes must really come back before the next
   * send, so there is nothing for an optimizer to remove.
   */
  roundTrips(count: number): Promise<number> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (this.waiting !== undefined) return Promise.reject(new Error('sys.ctxswitch: round trips already in progress'));
    return new Promise<number>((resolve, reject) => {
      const t0 = now();
      this.waiting = { left: count, resolve: () => resolve(now() - t0), reject };
      this.child.stdin.write(TOKEN);
    });
  }

  async close(): Promise<void> {
    this.child.stdout.removeAllListeners('data');
    this.child.removeAllListeners('exit');
    this.child.stdin.end();
    await this.exited;
  }

  private onData(chunk: Buffer): void {
    const w = this.waiting;
    if (w === undefined) return;
    // One byte is in flight at a time, so each chunk is one returned token.
    w.left -= chunk.length;
    if (w.left > 0) {
      this.child.stdin.write(TOKEN);
    } else {
      this.waiting = undefined;
      w.resolve();
    }
  }

  private fail(err: Error): void {
    this.failure ??= err;
    const w = this.waiting;
    this.waiting = undefined;
    w?.reject(err);
  }
}

export const sysCtxswitch: BenchmarkDefinition<CtxswitchSettings> = {
  id: 'sys.ctxswitch',
  description: 'one-byte ping-pong with a child process over two pipes, both pinned to one CPU',
  profiles: EVERY_PROFILE,
  metrics: [{ name: 'rate', unit: 'round trips/s', direction: 'higher', primary: true }],
  parseSettings(raw) {
    return parseNumberSettings('sys.ctxswitch', raw, {
      minRoundTrips: { default: 100, min: 1, max: 10_000_000, integer: true },
      crossCpu: { default: 0, min: 0, max: 1, integer: true },
    });
  },
  async prepare(settings, context): Promise<PreparedBenchmark> {
    const allowed = allowedCpus();
    const home = allowed[0] as number;
    const away = settings.crossCpu === 1 ? allowed[1] : home;
    if (away === undefined) throw new ProfileError(`sys.ctxswitch: setting "crossCpu" needs two CPUs; this process may use only CPU ${home}`);
    // The main thread does the pipe I/O; pinning it leaves Node's other threads alone.
    const pinned = pinThread(process.pid, [home]);
    const unpin = (): void => {
      if (pinned) pinThread(process.pid, allowed);
    };
    const peer = pinned ? new PingPong('taskset', ['-c', String(away), PEER_COMMAND]) : new PingPong(PEER_COMMAND);
    try {
      const count = await calibrateAsync((n) => peer.roundTrips(n), context.profile.trialSeconds, { min: settings.minRoundTrips });
      return {
        parameters: { peer: PEER_COMMAND, tokenBytes: '1', cpus: pinned ? (settings.crossCpu === 1 ? 'two' : 'one') : 'unpinned' },
        async trial() {
          return { rate: count / (await peer.roundTrips(count)) };
        },
        async dispose() {
          try {
            await peer.close();
          } finally {
            unpin();
          }
        },
      };
    } catch (err: unknown) {
      try {
        await peer.close();
      } finally {
        unpin();
      }
      throw err;
    }
  },
};
