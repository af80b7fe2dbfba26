/**
 * Generates the WebAssembly SIMD AdamW update, four float32 lanes at a time:
 *
 *   adamw(pPtr, gPtr, mPtr, vPtr, vectors)
 *
 * updates `vectors` (>= 1) groups of four params and their moments in place, with the step's
 * constants read from the first ADAMW_CONSTANTS floats of memory (in ADAMW_CONSTANT_ORDER):
 *
 *   m = beta1 m + (1 - beta1) g,  v = beta2 v + (1 - beta2) g^2,
 *   p = p decay - stepSize m / (sqrt(v) / sqrt(biasCorrection2) + eps)
 *
 * the formula of adamw.ts (and PyTorch's), in float32 arithmetic instead of float64 rounded to
 * float32, with the division by sqrt(biasCorrection2) made a product by its inverse: divisions
 * and square roots bound this loop's speed, and it keeps one of each.
 */
import { codeBuilder, type ModuleMemory, moduleBytes, op, TYPE, unsignedLeb, vector } from './wasm-encoding.js';

export const ADAMW_CONSTANT_ORDER = [
  'beta1',
  'oneMinusBeta1',
  'beta2',
  'oneMinusBeta2',
  'decay',
  'stepSize',
  'inverseSqrtBiasCorrection2',
  'eps',
] as const;
/** Floats reserved for the constants at the start of memory (keeps the regions 16-byte aligned). */
export const ADAMW_CONSTANTS = 8;

const [P_PTR, G_PTR, M_PTR, V_PTR, COUNT] = [0, 1, 2, 3, 4];
// v128 locals: one per constant, then g, m, v.
const FIRST = 5;
const constant = (name: (typeof ADAMW_CONSTANT_ORDER)[number]) => FIRST + ADAMW_CONSTANT_ORDER.indexOf(name);
const G = FIRST + ADAMW_CONSTANTS;
const M = G + 1;
const V = G + 2;

function body(): number[] {
  const { code, emit } = codeBuilder();
  for (let c = 0; c < ADAMW_CONSTANTS; c++) emit(op.i32Const(0), op.v128Load32Splat(c * 4), op.localSet(FIRST + c));
  emit(op.loop());
  emit(op.localGet(G_PTR), op.v128Load(0), op.localSet(G));
  // m = beta1 m + (1 - beta1) g
  emit(op.localGet(constant('beta1')), op.localGet(M_PTR), op.v128Load(0), op.f32x4Mul());
  emit(op.localGet(constant('oneMinusBeta1')), op.localGet(G), op.f32x4Mul(), op.f32x4Add(), op.localSet(M));
  emit(op.localGet(M_PTR), op.localGet(M), op.v128Store(0));
  // v = beta2 v + (1 - beta2) g g
  emit(op.localGet(constant('beta2')), op.localGet(V_PTR), op.v128Load(0), op.f32x4Mul());
  emit(op.localGet(constant('oneMinusBeta2')), op.localGet(G), op.f32x4Mul(), op.localGet(G), op.f32x4Mul());
  emit(op.f32x4Add(), op.localSet(V));
  emit(op.localGet(V_PTR), op.localGet(V), op.v128Store(0));
  // p = p decay - stepSize m / (sqrt(v) inverseSqrtBiasCorrection2 + eps)
  emit(op.localGet(P_PTR), op.localGet(P_PTR), op.v128Load(0), op.localGet(constant('decay')), op.f32x4Mul());
  emit(op.localGet(constant('stepSize')), op.localGet(M), op.f32x4Mul());
  emit(op.localGet(V), op.f32x4Sqrt(), op.localGet(constant('inverseSqrtBiasCorrection2')), op.f32x4Mul());
  emit(op.localGet(constant('eps')), op.f32x4Add(), op.f32x4Div(), op.f32x4Sub(), op.v128Store(0));
  for (const pointer of [P_PTR, G_PTR, M_PTR, V_PTR])
    emit(op.localGet(pointer), op.i32Const(16), op.i32Add(), op.localSet(pointer));
  emit(op.localGet(COUNT), op.i32Const(1), op.i32Sub(), op.localTee(COUNT), op.brIf(0));
  emit(op.end(), op.end());
  return [...vector([[...unsignedLeb(ADAMW_CONSTANTS + 3), TYPE.v128]]), ...code];
}

/** The module: exports `adamw` and its `memory` (initially `pages` of 64 KiB, or the imported arena). */
export function adamwModuleBytes(pages: number, memory: ModuleMemory = 'own'): Uint8Array {
  return moduleBytes([{ name: 'adamw', i32Params: 5, body: body() }], pages, memory);
}
