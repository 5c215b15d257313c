// Gives big benchmark buffers back to the operating system when a benchmark is done.
// Without it, hundreds of MiB of dead ArrayBuffers stay mapped until V8 happens to
// collect, and every later fork (sys.spawn, web.cgi_*) copies their page tables: 18 ms
// instead of 1.5 ms per spawn on the machine this was written on.
import { setTimeout as sleep } from 'node:timers/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let gc: (() => void) | undefined;

/**
 * V8's full collection, reached the way jest's leak detector does: the flag exposes `gc`
 * in contexts created afterwards, and only the new context gets it, so the agent's global
 * scope is unchanged.
 */
function fullCollection(): () => void {
  if (gc === undefined) {
    setFlagsFromString('--expose-gc');
    gc = runInNewContext('gc') as () => void;
  }
  return gc;
}

/**
 * Runs a full collection and waits (up to `timeoutMs`) until the ArrayBuffer memory has
 * fallen by `bytes`: V8 frees backing stores on a background sweeper thread, after `gc()`
 * has returned. Call it after dropping every reference to the buffers.
 */
export async function releaseArrayBuffers(bytes: number, timeoutMs = 2000): Promise<void> {
  const before = process.memoryUsage().arrayBuffers;
  fullCollection()();
  const deadline = Date.now() + timeoutMs;
  while (process.memoryUsage().arrayBuffers > before - bytes && Date.now() < deadline) {
    await sleep(2);
  }
}
