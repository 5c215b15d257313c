// Progress of a suite: one rewritten line on a terminal, plain lines otherwise. Written to
// stderr so that stdout stays clean for --json.
import type { RunnerEvent } from '../bench/runner';

export function createProgress(stream: NodeJS.WriteStream = process.stderr): (event: RunnerEvent) => void {
  const tty = stream.isTTY === true;
  let started = Date.now();
  return (event) => {
    if (event.type === 'benchmark-start') {
      started = Date.now();
      if (tty) stream.write(`\r\x1b[K[${event.index + 1}/${event.total}] ${event.benchmarkId} warming up`);
    } else if (event.type === 'trial') {
      if (tty) stream.write(`\r\x1b[K${event.benchmarkId} ${event.warmup ? 'warm-up' : 'trial'} ${event.trial}`);
    } else {
      const secs = ((Date.now() - started) / 1000).toFixed(1);
      const o = event.outcome;
      const what = o.ok
        ? o.samples
            .filter((s) => s.primary)
            .map((s) => `${s.value.toPrecision(4)} ${s.unit} (RSD ${(s.rsd * 100).toFixed(1)}%, ${s.trials.length} trials)`)
            .join(', ')
        : `FAILED: ${o.error.message}`;
      stream.write(`${tty ? '\r\x1b[K' : ''}[${event.index + 1}/${event.total}] ${o.benchmarkId} ${what} in ${secs} s\n`);
    }
  };
}
