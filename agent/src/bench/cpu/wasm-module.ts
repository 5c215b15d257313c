// A minimal WebAssembly binary encoder: enough to build one module of exported functions
// from hand-written instruction bytes, so kernels that need machine types JavaScript lacks
// (i64, f32) run without a toolchain or a dependency.

/** Value types of the binary format. */
export const I32 = 0x7f;
export const I64 = 0x7e;
export const F32 = 0x7d;

/** The opcodes the kernels use (WebAssembly core spec, §5.4). */
export const op = {
  block: 0x02,
  loop: 0x03,
  br: 0x0c,
  brIf: 0x0d,
  end: 0x0b,
  localGet: 0x20,
  localSet: 0x21,
  localTee: 0x22,
  i32Const: 0x41,
  i64Const: 0x42,
  f32Const: 0x43,
  i32Eqz: 0x45,
  i32Sub: 0x6b,
  i64Add: 0x7c,
  i64Mul: 0x7e,
  i64Xor: 0x85,
  i64Shl: 0x86,
  i64ShrU: 0x88,
  f32Add: 0x92,
  f32Sub: 0x93,
  f32Mul: 0x94,
  /** Block type "no result". */
  void: 0x40,
} as const;

export function unsignedLeb(value: number): number[] {
  const out: number[] = [];
  let v = value;
  do {
    let byte = v & 0x7f;
    v = Math.floor(v / 128);
    if (v !== 0) byte |= 0x80;
    out.push(byte);
  } while (v !== 0);
  return out;
}

export function signedLeb(value: bigint): number[] {
  const out: number[] = [];
  let v = value;
  for (;;) {
    const byte = Number(v & 0x7fn);
    v >>= 7n;
    const done = (v === 0n && (byte & 0x40) === 0) || (v === -1n && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

/** `i64.const value`, with value taken modulo 2^64 as the spec does. */
export function i64Const(value: bigint): number[] {
  return [op.i64Const, ...signedLeb(BigInt.asIntN(64, value))];
}

export function i32Const(value: number): number[] {
  return [op.i32Const, ...signedLeb(BigInt(value | 0))];
}

export function f32Const(value: number): number[] {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setFloat32(0, value, true);
  return [op.f32Const, ...bytes];
}

export interface WasmFunction {
  readonly name: string;
  readonly params: readonly number[];
  readonly results: readonly number[];
  /** Instruction bytes, without the final `end`. */
  readonly body: readonly number[];
}

function section(id: number, payload: readonly number[]): number[] {
  return [id, ...unsignedLeb(payload.length), ...payload];
}

function vector(items: readonly (readonly number[])[]): number[] {
  return [...unsignedLeb(items.length), ...items.flat()];
}

function name(text: string): number[] {
  const bytes = [...Buffer.from(text, 'utf8')];
  return [...unsignedLeb(bytes.length), ...bytes];
}

/** Encodes a module whose functions are all exported under their names; no imports, no memory. */
export function encodeModule(functions: readonly WasmFunction[]): Uint8Array {
  const types = functions.map((f) => [0x60, ...vector(f.params.map((p) => [p])), ...vector(f.results.map((r) => [r]))]);
  const indices = functions.map((_, i) => unsignedLeb(i));
  const exportEntries = functions.map((f, i) => [...name(f.name), 0x00, ...unsignedLeb(i)]);
  const bodies = functions.map((f) => {
    const code = [0x00 /* no locals beyond the params */, ...f.body, op.end];
    return [...unsignedLeb(code.length), ...code];
  });
  return Uint8Array.from([
    0x00,
    0x61,
    0x73,
    0x6d, // \0asm
    0x01,
    0x00,
    0x00,
    0x00, // version 1
    ...section(1, vector(types)),
    ...section(3, vector(indices)),
    ...section(7, vector(exportEntries)),
    ...section(10, vector(bodies)),
  ]);
}

/**
 * A counted loop around `step`: `while (n !== 0) { step; n-- }` with the count in local 0.
 * The loop counter is independent of the chain, so it overlaps with it on any CPU.
 */
export function countedLoop(step: readonly number[]): number[] {
  return [
    op.block,
    op.void,
    op.loop,
    op.void,
    op.localGet,
    0,
    op.i32Eqz,
    op.brIf,
    1,
    ...step,
    op.localGet,
    0,
    ...i32Const(1),
    op.i32Sub,
    op.localSet,
    0,
    op.br,
    0,
    op.end,
    op.end,
  ];
}

interface WasmApi {
  readonly Module: new (bytes: Uint8Array) => unknown;
  readonly Instance: new (module: unknown) => { readonly exports: Readonly<Record<string, unknown>> };
}

/**
 * Compiles and instantiates `bytes` synchronously (fine for a module this small) and
 * returns its exports. Node has the WebAssembly global; the ES2022 lib without DOM types
 * does not declare it, hence the narrow typing here.
 */
export function instantiate(bytes: Uint8Array): Readonly<Record<string, unknown>> {
  const wasm = (globalThis as unknown as { readonly WebAssembly: WasmApi }).WebAssembly;
  return new wasm.Instance(new wasm.Module(bytes)).exports;
}
