/**
 * A four-lane float32 exp for the generated WebAssembly SIMD kernels: exp(x) for x <= 0 is
 * 2^n e^r with n = round(x log2 e), r = x - n ln 2 (ln 2 split in two for an exact product) and
 * e^r from its degree-7 Taylor polynomial (|r| <= ln 2 / 2: truncation error 5e-9, below float32
 * rounding); 2^n is built in the exponent bits. x is held at -87 or above (e^-87 is 1.6e-38).
 * NaN propagates.
 */
import { type Emit, op } from './wasm-encoding.js';

const LN2_HI = 0.693359375; // exact in float32, and n * LN2_HI is exact for |n| <= 126
const LN2_LO = -2.1219444e-4;
const EXP_FLOOR = -87;

/** Replaces the v128 on the stack, x <= 0, by exp(x); `n` and `r` are v128 scratch locals. */
export function emitExp(emit: Emit, n: number, r: number): void {
  emit(op.f32x4Const(EXP_FLOOR), op.f32x4Pmax(), op.localTee(r));
  emit(op.f32x4Const(Math.LOG2E), op.f32x4Mul(), op.f32x4Nearest(), op.localSet(n));
  emit(op.localGet(r), op.localGet(n), op.f32x4Const(LN2_HI), op.f32x4Mul(), op.f32x4Sub());
  emit(op.localGet(n), op.f32x4Const(LN2_LO), op.f32x4Mul(), op.f32x4Sub(), op.localSet(r));
  const factorials = [5040, 720, 120, 24, 6, 2, 1, 1];
  emit(op.f32x4Const(1 / (factorials[0] as number)));
  for (const f of factorials.slice(1)) emit(op.localGet(r), op.f32x4Mul(), op.f32x4Const(1 / f), op.f32x4Add());
  emit(op.localGet(n), op.i32x4TruncSatF32x4S(), op.i32x4Const(127), op.i32x4Add(), op.i32Const(23), op.i32x4Shl());
  emit(op.f32x4Mul());
}
