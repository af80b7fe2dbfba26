/**
 * Generates the WebAssembly SIMD kernels of RMSNorm over rows of `vectors` groups of four float32
 * values (the row length a multiple of four), with 1/cols and eps read from the first floats of
 * memory (RMSNORM_CONSTANTS):
 *
 *   rmsNorm(xPtr, wPtr, yPtr, rstdPtr, rows, vectors)
 *     rstd = 1 / sqrt(sum(x^2) / cols + eps),  y = x rstd w
 *   rmsNormBackward(xPtr, wPtr, rstdPtr, dyPtr, dxPtr, dwPtr, rows, vectors)
 *     dx = rstd (w dy - x rstd^2 sum(dy w x) / cols),  dw += dy x rstd
 *
 * the formulas of rmsnorm.ts in float32 arithmetic; a row's sums run over four lanes, added
 * together at the end of the row.
 */
import { codeBuilder, type Emit, locals, type ModuleMemory, moduleBytes, op } from './wasm-encoding.js';

/** Floats reserved at the start of memory: 1/cols, eps (then padding to keep 16-byte alignment). */
export const RMSNORM_CONSTANTS = 4;
const INV_COLS_OFFSET = 0;
const EPS_OFFSET = 4;

/** Leaves the sum of the four lanes of v128 local `v` in all four lanes, on the stack. */
function emitLaneSumSplat(emit: Emit, v: number): void {
  emit(op.localGet(v), op.f32x4ExtractLane(0));
  for (const lane of [1, 2, 3]) emit(op.localGet(v), op.f32x4ExtractLane(lane), op.f32Add());
  emit(op.f32x4Splat());
}

/** Adds 16 bytes to each i32 local in `pointers`. */
function emitStep(emit: Emit, pointers: readonly number[]): void {
  for (const p of pointers) emit(op.localGet(p), op.i32Const(16), op.i32Add(), op.localSet(p));
}

/** Decrements i32 local `counter` and branches back to the enclosing loop while it is non-zero. */
function emitCountDown(emit: Emit, counter: number): void {
  emit(op.localGet(counter), op.i32Const(1), op.i32Sub(), op.localTee(counter), op.brIf(0));
}

function forwardBody(): number[] {
  const [xPtr, wPtr, yPtr, rstdPtr, rows, vectors] = [0, 1, 2, 3, 4, 5];
  const [p, q, count] = [6, 7, 8];
  const [acc, v, factor, invCols, eps] = [9, 10, 11, 12, 13];
  const { code, emit } = codeBuilder();
  emit(op.i32Const(0), op.v128Load32Splat(INV_COLS_OFFSET), op.localSet(invCols));
  emit(op.i32Const(0), op.v128Load32Splat(EPS_OFFSET), op.localSet(eps));
  emit(op.loop());
  // acc = lane sums of x^2 over the row
  emit(op.v128Zero(), op.localSet(acc), op.localGet(xPtr), op.localSet(p), op.localGet(vectors), op.localSet(count));
  emit(op.loop(), op.localGet(acc), op.localGet(p), op.v128Load(0), op.localTee(v), op.localGet(v), op.f32x4Mul());
  emit(op.f32x4Add(), op.localSet(acc));
  emitStep(emit, [p]);
  emitCountDown(emit, count);
  emit(op.end());
  // factor = 1 / sqrt(sum / cols + eps), stored to rstd
  emit(op.f32x4Const(1));
  emitLaneSumSplat(emit, acc);
  emit(op.localGet(invCols), op.f32x4Mul(), op.localGet(eps), op.f32x4Add(), op.f32x4Sqrt(), op.f32x4Div());
  emit(op.localSet(factor), op.localGet(rstdPtr), op.localGet(factor), op.f32x4ExtractLane(0), op.f32Store(0));
  emit(op.localGet(rstdPtr), op.i32Const(4), op.i32Add(), op.localSet(rstdPtr));
  // y = x factor w
  emit(op.localGet(xPtr), op.localSet(p), op.localGet(wPtr), op.localSet(q), op.localGet(vectors), op.localSet(count));
  emit(op.loop(), op.localGet(yPtr), op.localGet(p), op.v128Load(0), op.localGet(factor), op.f32x4Mul());
  emit(op.localGet(q), op.v128Load(0), op.f32x4Mul(), op.v128Store(0));
  emitStep(emit, [p, q, yPtr]);
  emitCountDown(emit, count);
  emit(op.end());
  emit(op.localGet(p), op.localSet(xPtr));
  emitCountDown(emit, rows);
  emit(op.end(), op.end());
  return [...locals(3, 5), ...code];
}

function backwardBody(): number[] {
  const [xPtr, wPtr, rstdPtr, dyPtr, dxPtr, dwPtr, rows, vectors] = [0, 1, 2, 3, 4, 5, 6, 7];
  const [xp, wp, gp, dwp, count] = [8, 9, 10, 11, 12];
  const [acc, factor, correction, invCols, g, x] = [13, 14, 15, 16, 17, 18];
  const { code, emit } = codeBuilder();
  const rewind = () => {
    emit(op.localGet(xPtr), op.localSet(xp), op.localGet(wPtr), op.localSet(wp), op.localGet(dyPtr), op.localSet(gp));
    emit(op.localGet(vectors), op.localSet(count));
  };
  emit(op.i32Const(0), op.v128Load32Splat(INV_COLS_OFFSET), op.localSet(invCols));
  emit(op.loop());
  emit(op.localGet(rstdPtr), op.v128Load32Splat(0), op.localSet(factor));
  emit(op.localGet(rstdPtr), op.i32Const(4), op.i32Add(), op.localSet(rstdPtr));
  // acc = lane sums of dy w x over the row
  emit(op.v128Zero(), op.localSet(acc));
  rewind();
  emit(op.loop(), op.localGet(acc), op.localGet(gp), op.v128Load(0), op.localGet(wp), op.v128Load(0), op.f32x4Mul());
  emit(op.localGet(xp), op.v128Load(0), op.f32x4Mul(), op.f32x4Add(), op.localSet(acc));
  emitStep(emit, [xp, wp, gp]);
  emitCountDown(emit, count);
  emit(op.end());
  // correction = factor^2 sum / cols
  emit(op.localGet(factor), op.localGet(factor), op.f32x4Mul());
  emitLaneSumSplat(emit, acc);
  emit(op.f32x4Mul(), op.localGet(invCols), op.f32x4Mul(), op.localSet(correction));
  // dx = factor (w dy - x correction), dw += dy x factor
  rewind();
  emit(op.localGet(dwPtr), op.localSet(dwp));
  emit(op.loop(), op.localGet(gp), op.v128Load(0), op.localSet(g), op.localGet(xp), op.v128Load(0), op.localSet(x));
  emit(op.localGet(dxPtr), op.localGet(factor), op.localGet(wp), op.v128Load(0), op.localGet(g), op.f32x4Mul());
  emit(op.localGet(x), op.localGet(correction), op.f32x4Mul(), op.f32x4Sub(), op.f32x4Mul(), op.v128Store(0));
  emit(op.localGet(dwp), op.localGet(dwp), op.v128Load(0), op.localGet(g), op.localGet(x), op.f32x4Mul());
  emit(op.localGet(factor), op.f32x4Mul(), op.f32x4Add(), op.v128Store(0));
  emitStep(emit, [xp, wp, gp, dwp, dxPtr]);
  emitCountDown(emit, count);
  emit(op.end());
  emit(op.localGet(xp), op.localSet(xPtr), op.localGet(gp), op.localSet(dyPtr));
  emitCountDown(emit, rows);
  emit(op.end(), op.end());
  return [...locals(5, 6), ...code];
}

/** The module: exports `rmsNorm`, `rmsNormBackward` and its `memory` (initially `pages` of 64 KiB, or the imported arena). */
export function rmsNormModuleBytes(pages: number, memory: ModuleMemory = 'own'): Uint8Array {
  return moduleBytes(
    [
      { name: 'rmsNorm', i32Params: 6, body: forwardBody() },
      { name: 'rmsNormBackward', i32Params: 8, body: backwardBody() },
    ],
    pages,
    memory,
  );
}
