// Memory that V8 maps for itself: a WebAssembly memory is its own mmap, page-aligned, never
// moved while it is not grown, untouched until first written, and unmapped when collected.
// The disk benchmarks need its alignment (O_DIRECT), mem.pagefault its freshness.

/** WebAssembly memory pages are 64 KiB. */
const WASM_PAGE = 65536;

/** Node has the WebAssembly global; the ES2022 lib without DOM types does not declare it. */
interface WasmMemoryApi {
  readonly Memory: new (descriptor: { initial: number; maximum?: number }) => { readonly buffer: ArrayBuffer };
}

/** A new WebAssembly memory of at least `bytes` (whole 64 KiB pages), which cannot grow. */
export function wasmMemory(bytes: number): ArrayBuffer {
  const wasm = (globalThis as unknown as { readonly WebAssembly: WasmMemoryApi }).WebAssembly;
  const pages = Math.ceil(bytes / WASM_PAGE);
  return new wasm.Memory({ initial: pages, maximum: pages }).buffer;
}
