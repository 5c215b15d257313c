// libvirt through its own client, virsh: define, start, destroy and undefine the lab's guests.
// virsh rather than a binding: it is what KVM users run, and its errors read the same here.
import { execFile } from 'node:child_process';

export interface CommandResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export function run(file: string, args: readonly string[], timeoutMs = 120_000): Promise<CommandResult> {
  return new Promise((resolve) => {
    execFile(file, [...args], { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 127;
      resolve({ code, stdout, stderr: err !== null && stderr === '' ? err.message : stderr });
    });
  });
}

export class VirshError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'VirshError';
  }
}

export class Virsh {
  constructor(readonly uri: string) {}

  private async virsh(args: readonly string[], timeoutMs?: number): Promise<string> {
    const r = await run('virsh', ['-q', '-c', this.uri, ...args], timeoutMs);
    if (r.code !== 0)
      throw new VirshError(
        `virsh ${args[0]}: ${
          r.stderr
            .trim()
            .replace(/^error: /gm, '')
            .split('\n')
            .join('; ') || `exit ${r.code}`
        }`,
      );
    return r.stdout;
  }

  /** Throws with what to do when libvirtd does not answer. */
  async check(): Promise<void> {
    try {
      await this.virsh(['uri'], 15_000);
    } catch (err: unknown) {
      throw new VirshError(`libvirt at ${this.uri} does not answer (${(err as Error).message}); start it with scripts/ensure-libvirt.sh (as root)`);
    }
  }

  async define(xmlFile: string): Promise<void> {
    await this.virsh(['define', xmlFile]);
  }

  async start(name: string): Promise<void> {
    await this.virsh(['start', name]);
  }

  /** running, shut off, … or undefined when no such domain. */
  async state(name: string): Promise<string | undefined> {
    const r = await run('virsh', ['-q', '-c', this.uri, 'domstate', name], 30_000);
    return r.code === 0 ? r.stdout.trim() : undefined;
  }

  /** Stops the guest at once (its disk is a throw-away overlay) and forgets it; absent is fine. */
  async destroyAndUndefine(name: string): Promise<void> {
    const state = await this.state(name);
    if (state === undefined) return;
    if (state !== 'shut off') await run('virsh', ['-q', '-c', this.uri, 'destroy', name], 60_000);
    // --nvram: a UEFI guest has a variable store; harmless otherwise.
    const r = await run('virsh', ['-q', '-c', this.uri, 'undefine', name, '--nvram'], 60_000);
    if (r.code !== 0 && (await this.state(name)) !== undefined) throw new VirshError(`virsh undefine ${name}: ${r.stderr.trim()}`);
  }

  /** Names of every domain, running or not. */
  async listAll(): Promise<string[]> {
    return (await this.virsh(['list', '--all', '--name']))
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '');
  }
}
