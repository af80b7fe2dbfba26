/**
 * Just enough of the WebAssembly binary format to emit small modules by hand: LEB128 integers,
 * sections, and the opcodes the SIMD kernels (GEMM, SiLU, AdamW, RMSNorm, RoPE, attention) use.
 * Kept separate so the kernel generators read as instructions rather than bytes.
 */

export function unsignedLeb(value: number): number[] {
  const out: number[] = [];
  let v = value >>> 0;
  do {
    let byte = v & 0x7f;
    v >>>= 7;
    if (v !== 0) byte |= 0x80;
    out.push(byte);
  } while (v !== 0);
  return out;
}

export function signedLeb(value: number): number[] {
  const out: number[] = [];
  let v = value | 0;
  for (;;) {
    const byte = v & 0x7f;
    v >>= 7;
    const done = (v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

export function utf8Name(name: string): number[] {
  const bytes = Array.from(new TextEncoder().encode(name));
  return [...unsignedLeb(bytes.length), ...bytes];
}

/** A section: id, byte length, contents. */
export function section(id: number, contents: number[]): number[] {
  return [id, ...unsignedLeb(contents.length), ...contents];
}

/** A vector: element count, then the elements' bytes. */
export function vector(items: number[][]): number[] {
  return [...unsignedLeb(items.length), ...items.flat()];
}

export const SECTION = { type: 1, import: 2, function: 3, memory: 5, export: 7, code: 10 } as const;
export const TYPE = { i32: 0x7f, f32: 0x7d, v128: 0x7b, func: 0x60 } as const;
export const EXPORT_KIND = { func: 0, memory: 2 } as const;

/** Instruction encoders. Memory offsets and alignments are in bytes / log2 bytes. */
export const op = {
  block: () => [0x02, 0x40],
  loop: () => [0x03, 0x40],
  end: () => [0x0b],
  brIf: (depth: number) => [0x0d, ...unsignedLeb(depth)],
  localGet: (index: number) => [0x20, ...unsignedLeb(index)],
  localSet: (index: number) => [0x21, ...unsignedLeb(index)],
  localTee: (index: number) => [0x22, ...unsignedLeb(index)],
  i32Const: (value: number) => [0x41, ...signedLeb(value)],
  i32Eqz: () => [0x45],
  i32Add: () => [0x6a],
  i32Sub: () => [0x6b],
  i32Mul: () => [0x6c],
  f32Store: (offset: number) => [0x38, 2, ...unsignedLeb(offset)],
  f32Add: () => [0x92],
  v128Load: (offset: number) => [0xfd, ...unsignedLeb(0x00), 4, ...unsignedLeb(offset)],
  v128Load32Splat: (offset: number) => [0xfd, ...unsignedLeb(0x09), 2, ...unsignedLeb(offset)],
  v128Store: (offset: number) => [0xfd, ...unsignedLeb(0x0b), 4, ...unsignedLeb(offset)],
  v128Zero: () => [0xfd, ...unsignedLeb(0x0c), ...new Array<number>(16).fill(0)],
  /** A v128 constant holding `value` (rounded to float32) in all four lanes. */
  f32x4Const: (value: number) => {
    const lane = Array.from(new Uint8Array(Float32Array.of(value).buffer));
    return [0xfd, ...unsignedLeb(0x0c), ...lane, ...lane, ...lane, ...lane];
  },
  /** A v128 constant holding the 32-bit integer `value` in all four lanes. */
  i32x4Const: (value: number) => {
    const lane = Array.from(new Uint8Array(Int32Array.of(value).buffer));
    return [0xfd, ...unsignedLeb(0x0c), ...lane, ...lane, ...lane, ...lane];
  },
  f32x4Splat: () => [0xfd, ...unsignedLeb(0x13)],
  f32x4ExtractLane: (lane: number) => [0xfd, ...unsignedLeb(0x1f), lane],
  v128Xor: () => [0xfd, ...unsignedLeb(0x51)],
  i32x4Shl: () => [0xfd, ...unsignedLeb(0xab)],
  i32x4Add: () => [0xfd, ...unsignedLeb(0xae)],
  f32x4Sqrt: () => [0xfd, ...unsignedLeb(0xe3)],
  f32x4Add: () => [0xfd, ...unsignedLeb(0xe4)],
  f32x4Sub: () => [0xfd, ...unsignedLeb(0xe5)],
  f32x4Mul: () => [0xfd, ...unsignedLeb(0xe6)],
  f32x4Div: () => [0xfd, ...unsignedLeb(0xe7)],
  f64x2Add: () => [0xfd, ...unsignedLeb(0xf0)],
  f64x2Sub: () => [0xfd, ...unsignedLeb(0xf1)],
  f64x2Mul: () => [0xfd, ...unsignedLeb(0xf2)],
  f64x2Div: () => [0xfd, ...unsignedLeb(0xf3)],
  /** b < a ? b : a lane-wise: one x64 instruction in V8, where f32x4.min orders NaN and -0 by hand. */
  f32x4Pmin: () => [0xfd, ...unsignedLeb(0xea)],
  /** a < b ? b : a lane-wise: one x64 instruction in V8, where f32x4.max orders NaN and -0 by hand. */
  f32x4Pmax: () => [0xfd, ...unsignedLeb(0xeb)],
  v128Bitselect: () => [0xfd, ...unsignedLeb(0x52)],
  select: () => [0x1b],
  i32Ne: () => [0x47],
  i32GtS: () => [0x4a],
  i32ShrU: () => [0x76],
  f32Const: (value: number) => [0x43, ...Array.from(new Uint8Array(Float32Array.of(value).buffer))],
  f32Gt: () => [0x5e],
  f32Div: () => [0x95],
  f32Max: () => [0x97],
  i32x4Splat: () => [0xfd, ...unsignedLeb(0x11)],
  i32x4LtS: () => [0xfd, ...unsignedLeb(0x39)],
} as const;

export const WASM_HEADER = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];

/** One exported function: its name, its i32 parameter count (no results) and its body (locals + code). */
export interface ExportedFunction {
  name: string;
  i32Params: number;
  body: number[];
}

/**
 * Where a module's memory comes from: its own (`pages` of 64 KiB, grown by the driver as needed)
 * or `imported` as env.memory (the CPU storages' arena, wasm-arena.ts; at least `pages`).
 */
export type ModuleMemory = 'own' | 'imported';

/** A module of `functions` that also exports its `memory` (initially `pages` of 64 KiB). */
export function moduleBytes(
  functions: readonly ExportedFunction[],
  pages: number,
  memory: ModuleMemory = 'own',
): Uint8Array {
  const types = functions.map((f) => [TYPE.func, ...vector(new Array(f.i32Params).fill([TYPE.i32])), 0]);
  const exports = functions.map((f, index) => [...utf8Name(f.name), EXPORT_KIND.func, ...unsignedLeb(index)]);
  const limits = [0x00, ...unsignedLeb(pages)]; // a minimum, no maximum
  const memoryImport = [...utf8Name('env'), ...utf8Name('memory'), EXPORT_KIND.memory, ...limits];
  return Uint8Array.from([
    ...WASM_HEADER,
    ...section(SECTION.type, vector(types)),
    ...(memory === 'imported' ? section(SECTION.import, vector([memoryImport])) : []),
    ...section(SECTION.function, vector(functions.map((_, index) => unsignedLeb(index)))),
    ...(memory === 'own' ? section(SECTION.memory, vector([limits])) : []),
    ...section(SECTION.export, vector([...exports, [...utf8Name('memory'), EXPORT_KIND.memory, 0]])),
    ...section(SECTION.code, vector(functions.map((f) => [...unsignedLeb(f.body.length), ...f.body]))),
  ]);
}

/** A function body's local declarations: `i32s` i32 locals, then `v128s` v128 locals (after the parameters). */
export function locals(i32s: number, v128s: number): number[] {
  return vector([
    [...unsignedLeb(i32s), TYPE.i32],
    [...unsignedLeb(v128s), TYPE.v128],
  ]);
}

export type Emit = (...instructions: number[][]) => void;

/** A growing function body and the `emit` that appends instructions to it. */
export function codeBuilder(): { code: number[]; emit: Emit } {
  const code: number[] = [];
  const emit: Emit = (...instructions) => {
    for (const instruction of instructions) code.push(...instruction);
  };
  return { code, emit };
}

/** Folds the four lanes of the v128 local `from` with the scalar `combine` into an f32 on the stack. */
export function emitLanes(emit: Emit, from: number, combine: () => number[]): void {
  emit(op.localGet(from), op.f32x4ExtractLane(0));
  for (let lane = 1; lane < 4; lane++) emit(op.localGet(from), op.f32x4ExtractLane(lane), combine());
}
