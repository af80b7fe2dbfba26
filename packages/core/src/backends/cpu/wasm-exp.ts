/**
 * A four-lane float32 exp for the generated WebAssembly SIMD kernels, for x <= 87 (a caller whose x
 * can be larger holds it there first: 2^n must stay a normal float32): exp(x) is 2^n e^r
 * with n = round(x log2 e), r = x - n ln 2 (ln 2 split in two for an exact product) and e^r from a
 * degree-6 polynomial fitted on |r| <= ln 2 / 2 (relative error 2e-9, below float32 rounding).
 * n is rounded by adding 1.5 * 2^23, which leaves n in the low mantissa bits of the sum, so 2^n is
 * that sum shifted into the exponent bits plus the bias. x is held at -87 or above (e^-87 is
 * 1.6e-38) by pmax, which V8 compiles to one instruction; NaN propagates. The constants live in
 * v128 locals, set once before a kernel's loops (a v128.const in a loop is rebuilt each iteration).
 */
import { type Emit, op } from './wasm-encoding.js';

const LN2_HI = 0.693359375; // exact in float32, and n * LN2_HI is exact for |n| <= 126
const LN2_LO = -2.1219444e-4;
const EXP_FLOOR = -87;
/** 1.5 * 2^23: adding it rounds a float32 of magnitude < 2^22 to an integer held in the low mantissa bits. */
const ROUNDER = 12582912;
const EXPONENT_BIAS = 127 << 23;
/** e^r ~ sum of POLYNOMIAL[k] r^(6-k): a least-maximum-relative-error fit on |r| <= ln 2 / 2. */
const POLYNOMIAL = [
  0.0013843653616443354, 0.008374155459987792, 0.04166800204205828, 0.16666431260832673, 0.49999994208987203,
  1.000000032165451, 1,
];
const FLOATS = [EXP_FLOOR, Math.LOG2E, ROUNDER, LN2_HI, LN2_LO, ...POLYNOMIAL];

/** v128 locals the exp needs: its constants, then three scratch values. */
export const EXP_LOCALS = FLOATS.length + 1 + 3;

/** Sets the exp's constant locals, from v128 local `first` on (once, before the loops). */
export function emitExpConstants(emit: Emit, first: number): void {
  for (const [index, value] of FLOATS.entries()) emit(op.f32x4Const(value), op.localSet(first + index));
  emit(op.i32x4Const(EXPONENT_BIAS), op.localSet(first + FLOATS.length));
}

/** Replaces the v128 on the stack, x <= 87, by exp(x); the exp's locals start at v128 local `first`. */
export function emitExp(emit: Emit, first: number): void {
  const k = (value: number) => op.localGet(first + FLOATS.indexOf(value));
  const bias = op.localGet(first + FLOATS.length);
  const [x, sum, n] = [0, 1, 2].map((i) => first + FLOATS.length + 1 + i) as [number, number, number];
  emit(k(EXP_FLOOR), op.f32x4Pmax(), op.localTee(x));
  emit(k(Math.LOG2E), op.f32x4Mul(), k(ROUNDER), op.f32x4Add(), op.localTee(sum), k(ROUNDER), op.f32x4Sub());
  emit(op.localSet(n));
  // r = x - n LN2_HI - n LN2_LO, kept in x.
  emit(op.localGet(x), op.localGet(n), k(LN2_HI), op.f32x4Mul(), op.f32x4Sub());
  emit(op.localGet(n), k(LN2_LO), op.f32x4Mul(), op.f32x4Sub(), op.localSet(x));
  emit(k(POLYNOMIAL[0] as number));
  for (const c of POLYNOMIAL.slice(1)) emit(op.localGet(x), op.f32x4Mul(), k(c), op.f32x4Add());
  // times 2^n: the rounded sum's bits shifted left by 23 are n << 23 (ROUNDER's bits shift out).
  emit(op.localGet(sum), op.i32Const(23), op.i32x4Shl(), bias, op.i32x4Add(), op.f32x4Mul());
}
