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
 * Above this size glibc's malloc (whatever its dynamic threshold has grown to) and musl's
 * serve an allocation with its own mmap and unmap it when it is freed; smaller blocks may
 * stay in malloc's free lists, so the resident set need not shrink when they are freed.
 */
export const MMAP_THRESHOLD_MAX = 32 * 1024 * 1024;

/**
 * Collects garbage until the ArrayBuffer memory has fallen by `residentBytes`, then, when
 * this collection freed buffers big enough to be unmapped, waits (up to `timeoutMs`) until
 * the resident set has shrunk by most of what was touched: V8 frees backing stores on a
 * background sweeper thread, after `gc()` has returned. Call it after dropping every
 * reference to the buffers; `residentBytes` is how much of them was touched.
 */
export async function releaseArrayBuffers(residentBytes: number, timeoutMs = 1000): Promise<void> {
  const collect = fullCollection();
  const arrayBuffersBefore = process.memoryUsage().arrayBuffers;
  const rssBefore = process.memoryUsage.rss();
  // Objects allocated while an incremental marking was under way survive the collection
  // that finishes it (V8 allocates them black), so a second collection is sometimes needed.
  for (let i = 0; i < 3 && process.memoryUsage().arrayBuffers > arrayBuffersBefore - residentBytes; i++) collect();
  // What this collection freed; V8 may have collected the buffers on its own before.
  const freed = Math.min(residentBytes, arrayBuffersBefore - process.memoryUsage().arrayBuffers);
  if (freed < MMAP_THRESHOLD_MAX) return;
  await untilResidentShrinks(rssBefore, freed, timeoutMs, 0);
}

/**
 * Waits, up to `timeoutMs`, until the resident set is most of `bytes` below `rssBefore`;
 * the first `collections` looks that find it is not collect garbage, the others sleep 1 ms.
 */
async function untilResidentShrinks(rssBefore: number, bytes: number, timeoutMs: number, collections: number): Promise<void> {
  const collect = fullCollection();
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; process.memoryUsage.rss() > rssBefore - 0.9 * bytes && Date.now() < deadline; i++) {
    if (i < collections) collect();
    else await sleep(1);
  }
}

/**
 * Collects garbage until the resident set has shrunk by most of `residentBytes` (up to
 * `timeoutMs`): for WebAssembly memories, which V8 maps itself, outside the ArrayBuffer
 * allocator that `releaseArrayBuffers` watches, and unmaps when the memory is collected.
 * Call it after dropping every reference to the memories; `residentBytes` is how much of
 * them was touched.
 */
export async function releaseWasmMemories(residentBytes: number, timeoutMs = 1000): Promise<void> {
  // See releaseArrayBuffers: a second collection is sometimes needed.
  await untilResidentShrinks(process.memoryUsage.rss(), residentBytes, timeoutMs, 3);
}
