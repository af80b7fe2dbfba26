/**
 * Just enough of the WebAssembly binary format to emit one small module by hand: LEB128
 * integers, sections, and the opcodes the SIMD GEMM kernel uses. Kept separate so the kernel
 * generator reads as instructions rather than bytes.
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

export const SECTION = { type: 1, function: 3, memory: 5, export: 7, code: 10 } as const;
export const TYPE = { i32: 0x7f, v128: 0x7b, func: 0x60 } as const;
export const EXPORT_KIND = { func: 0, memory: 2 } as const;

/** Instruction encoders. Memory offsets and alignments are in bytes / log2 bytes. */
export const op = {
  block: () => [0x02, 0x40],
  loop: () => [0x03, 0x40],
  end: () => [0x0b],
  br: (depth: number) => [0x0c, ...unsignedLeb(depth)],
  brIf: (depth: number) => [0x0d, ...unsignedLeb(depth)],
  localGet: (index: number) => [0x20, ...unsignedLeb(index)],
  localSet: (index: number) => [0x21, ...unsignedLeb(index)],
  localTee: (index: number) => [0x22, ...unsignedLeb(index)],
  i32Const: (value: number) => [0x41, ...signedLeb(value)],
  i32Eqz: () => [0x45],
  i32Add: () => [0x6a],
  i32Sub: () => [0x6b],
  i32Mul: () => [0x6c],
  v128Load: (offset: number) => [0xfd, ...unsignedLeb(0x00), 4, ...unsignedLeb(offset)],
  v128Load32Splat: (offset: number) => [0xfd, ...unsignedLeb(0x09), 2, ...unsignedLeb(offset)],
  v128Store: (offset: number) => [0xfd, ...unsignedLeb(0x0b), 4, ...unsignedLeb(offset)],
  v128Zero: () => [0xfd, ...unsignedLeb(0x0c), ...new Array<number>(16).fill(0)],
  f32x4Add: () => [0xfd, ...unsignedLeb(0xe4)],
  f32x4Mul: () => [0xfd, ...unsignedLeb(0xe6)],
} as const;

export const WASM_HEADER = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
