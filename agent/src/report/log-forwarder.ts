// Sends the agent's own log lines to the collector, so that one place shows what happened
// in every guest. It is a stream for pino: each JSON line is parsed, batched, and sent with
// the run it belongs to. Forwarding never blocks or fails the benchmark: lines that cannot
// be delivered stay in the agent's own log (stderr/journal) and are dropped here.
import { Writable } from 'node:stream';
import type { LogLine } from '@guestbench/proto';
import type { CallOptions, CollectorClient } from './collector-client';

const LEVELS: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };
const OWN_FIELDS = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'name', 'runId', 'v']);

export class LogForwarder extends Writable {
  private batches = new Map<string, LogLine[]>();
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> = Promise.resolve();
  private client: CollectorClient | undefined;

  constructor(
    private agentId: string,
    private readonly flushMs = 1000,
  ) {
    super();
  }

  /** Starts forwarding to this collector; lines written before are kept until then. */
  attach(client: CollectorClient, agentId: string = this.agentId): void {
    this.client = client;
    this.agentId = agentId;
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, callback: () => void): void {
    for (const text of chunk.toString('utf8').split('\n')) {
      if (text.trim() === '') continue;
      let obj: Record<string, unknown>;
      try {
        obj = JSON.parse(text) as Record<string, unknown>;
      } catch {
        continue;
      }
      const runId = typeof obj['runId'] === 'string' ? obj['runId'] : '';
      const fields = Object.fromEntries(Object.entries(obj).filter(([k]) => !OWN_FIELDS.has(k)));
      const line: LogLine = {
        timeMs: typeof obj['time'] === 'number' ? obj['time'] : Date.now(),
        level: LEVELS[obj['level'] as number] ?? 'info',
        message: typeof obj['msg'] === 'string' ? obj['msg'].slice(0, 4096) : '',
        fieldsJson: JSON.stringify(fields).slice(0, 16_000),
      };
      const batch = this.batches.get(runId) ?? [];
      if (batch.length < 5000) batch.push(line);
      this.batches.set(runId, batch);
    }
    if (this.timer === undefined) {
      this.timer = setTimeout(() => void this.flush(), this.flushMs);
      this.timer.unref();
    }
    callback();
  }

  /** Sends what is buffered; resolves when it was sent or given up (`opts`: e.g. one quick try at exit). */
  flush(opts?: CallOptions): Promise<void> {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    const client = this.client;
    if (client === undefined) return this.inFlight;
    const batches = this.batches;
    this.batches = new Map();
    this.inFlight = this.inFlight.then(async () => {
      for (const [runId, lines] of batches) {
        for (let i = 0; i < lines.length; i += 500) {
          await client.sendLogs({ agentId: this.agentId, runId, lines: lines.slice(i, i + 500) }, opts).catch(() => undefined);
        }
      }
    });
    return this.inFlight;
  }
}
