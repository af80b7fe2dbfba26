/**
 * Generates the WebAssembly SIMD kernel of rotary position embedding (rope.ts's "rotate_half"
 * layout), four float32 lanes at a time:
 *
 *   rope(xPtr, cosPtr, sinPtr, yPtr, tokens, heads, halfVectors)
 *
 * over `tokens` consecutive positions of `heads` heads of 2 * 4 * halfVectors values each, with
 * position t reading row t of the cos and sin tables (4 * halfVectors floats a row) and the sign
 * of sin (-1 for the inverse rotation) read from the first float of memory:
 *
 *   y_lo = lo cos - hi sin,  y_hi = hi cos + lo sin.
 */
import { codeBuilder, locals, type ModuleMemory, moduleBytes, op } from './wasm-encoding.js';

/** Floats reserved at the start of memory: the sign of sin (then padding to keep 16-byte alignment). */
export const ROPE_CONSTANTS = 4;

function body(): number[] {
  const [xPtr, cosPtr, sinPtr, yPtr, tokens, heads, halfVectors] = [0, 1, 2, 3, 4, 5, 6];
  const [head, count, cp, sp, halfBytes] = [7, 8, 9, 10, 11];
  const [sign, lo, hi, c, s] = [12, 13, 14, 15, 16];
  const { code, emit } = codeBuilder();
  // pointer += the i32 that `bytes` pushes
  const step = (pointer: number, bytes: number[]) =>
    emit(op.localGet(pointer), bytes, op.i32Add(), op.localSet(pointer));
  emit(op.i32Const(0), op.v128Load32Splat(0), op.localSet(sign));
  emit(op.localGet(halfVectors), op.i32Const(16), op.i32Mul(), op.localSet(halfBytes));
  emit(op.loop(), op.localGet(heads), op.localSet(head));
  emit(op.loop(), op.localGet(cosPtr), op.localSet(cp), op.localGet(sinPtr), op.localSet(sp));
  emit(op.localGet(halfVectors), op.localSet(count));
  emit(op.loop());
  emit(op.localGet(xPtr), op.v128Load(0), op.localSet(lo));
  emit(op.localGet(xPtr), op.localGet(halfBytes), op.i32Add(), op.v128Load(0), op.localSet(hi));
  emit(op.localGet(cp), op.v128Load(0), op.localSet(c));
  emit(op.localGet(sp), op.v128Load(0), op.localGet(sign), op.f32x4Mul(), op.localSet(s));
  emit(op.localGet(yPtr), op.localGet(lo), op.localGet(c), op.f32x4Mul());
  emit(op.localGet(hi), op.localGet(s), op.f32x4Mul(), op.f32x4Sub(), op.v128Store(0));
  emit(op.localGet(yPtr), op.localGet(halfBytes), op.i32Add(), op.localGet(hi), op.localGet(c), op.f32x4Mul());
  emit(op.localGet(lo), op.localGet(s), op.f32x4Mul(), op.f32x4Add(), op.v128Store(0));
  for (const pointer of [xPtr, yPtr, cp, sp]) step(pointer, op.i32Const(16));
  emit(op.localGet(count), op.i32Const(1), op.i32Sub(), op.localTee(count), op.brIf(0), op.end());
  // past the head's upper half
  for (const pointer of [xPtr, yPtr]) step(pointer, op.localGet(halfBytes));
  emit(op.localGet(head), op.i32Const(1), op.i32Sub(), op.localTee(head), op.brIf(0), op.end());
  // the next position's rows of the tables
  for (const pointer of [cosPtr, sinPtr]) step(pointer, op.localGet(halfBytes));
  emit(op.localGet(tokens), op.i32Const(1), op.i32Sub(), op.localTee(tokens), op.brIf(0), op.end());
  emit(op.end());
  return [...locals(5, 5), ...code];
}

/** The module: exports `rope` and its `memory` (initially `pages` of 64 KiB, or the imported arena). */
export function ropeModuleBytes(pages: number, memory: ModuleMemory = 'own'): Uint8Array {
  return moduleBytes([{ name: 'rope', i32Params: 7, body: body() }], pages, memory);
}
