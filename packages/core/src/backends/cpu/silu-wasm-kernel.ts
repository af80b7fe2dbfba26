/**
 * Generates the WebAssembly SIMD kernels of the SwiGLU activation, four float32 lanes at a time:
 *
 *   siluMul(gPtr, uPtr, yPtr, vectors)                     y = silu(g) u
 *   siluMulBackward(gPtr, uPtr, dyPtr, dgPtr, duPtr, vectors)
 *
 * over `vectors` (>= 1) groups of four floats. sigmoid(g) is computed from e = exp(-|g|), which
 * never overflows: s = 1 / (1 + e) for g >= 0 and e / (1 + e) otherwise. exp(x) for x in
 * [-87, 0] is 2^n e^r with n = round(x log2 e), r = x - n ln 2 (ln 2 split in two for an exact
 * product) and e^r from its degree-7 Taylor polynomial (|r| <= ln 2 / 2: truncation error 5e-9,
 * below float32 rounding); 2^n is built in the exponent bits. Below -87, exp is held at e^-87
 * (1.6e-38), which moves silu by less than 1e-36. NaN propagates through every step.
 */
import {
  codeBuilder,
  type Emit,
  type ExportedFunction,
  moduleBytes,
  op,
  TYPE,
  unsignedLeb,
  vector,
} from './wasm-encoding.js';

const LN2_HI = 0.693359375; // exact in float32, and n * LN2_HI is exact for |n| <= 126
const LN2_LO = -2.1219444e-4;
const EXP_FLOOR = -87;

// v128 locals, after the function's i32 parameters.
const G = 0;
const E = 1;
const N = 2;
const R = 3;
const S = 4;
const V128_LOCALS = 5;

/** Leaves sigmoid(g) in local s, reading g from local g (locals offset by `first`). */
function emitSigmoid(emit: Emit, first: number): void {
  const [g, e, n, r, s] = [G, E, N, R, S].map((local) => first + local) as [number, number, number, number, number];
  // x = max(-|g|, EXP_FLOOR), kept in r; n = nearest(x log2 e).
  emit(op.localGet(g), op.f32x4Abs(), op.f32x4Neg(), op.f32x4Const(EXP_FLOOR), op.f32x4Max(), op.localSet(r));
  emit(op.localGet(r), op.f32x4Const(Math.LOG2E), op.f32x4Mul(), op.f32x4Nearest(), op.localSet(n));
  // r = x - n LN2_HI - n LN2_LO
  emit(op.localGet(r), op.localGet(n), op.f32x4Const(LN2_HI), op.f32x4Mul(), op.f32x4Sub());
  emit(op.localGet(n), op.f32x4Const(LN2_LO), op.f32x4Mul(), op.f32x4Sub(), op.localSet(r));
  // e^r by Horner's rule, from 1/7! down to 1/0!.
  const factorials = [5040, 720, 120, 24, 6, 2, 1, 1];
  emit(op.f32x4Const(1 / (factorials[0] as number)));
  for (const f of factorials.slice(1)) emit(op.localGet(r), op.f32x4Mul(), op.f32x4Const(1 / f), op.f32x4Add());
  // times 2^n: (n + 127) << 23 as float32 bits.
  emit(op.localGet(n), op.i32x4TruncSatF32x4S(), op.i32x4Const(127), op.i32x4Add(), op.i32Const(23), op.i32x4Shl());
  emit(op.f32x4Mul(), op.localSet(e));
  // s = 1 / (1 + e), then e s where g < 0 (or NaN).
  emit(op.f32x4Const(1), op.f32x4Const(1), op.localGet(e), op.f32x4Add(), op.f32x4Div(), op.localSet(s));
  emit(op.localGet(s), op.localGet(e), op.localGet(s), op.f32x4Mul());
  emit(op.localGet(g), op.v128Zero(), op.f32x4Ge(), op.v128Bitselect(), op.localSet(s));
}

/** Advances each pointer parameter by one vector, decrements the counter and loops while it is non-zero. */
function emitAdvance(emit: Emit, pointers: number, counter: number): void {
  for (let p = 0; p < pointers; p++) emit(op.localGet(p), op.i32Const(16), op.i32Add(), op.localSet(p));
  emit(op.localGet(counter), op.i32Const(1), op.i32Sub(), op.localTee(counter), op.brIf(0));
}

function v128Locals(): number[] {
  return vector([[...unsignedLeb(V128_LOCALS), TYPE.v128]]);
}

function forwardBody(): number[] {
  const [gPtr, uPtr, yPtr, count, first] = [0, 1, 2, 3, 4];
  const { code, emit } = codeBuilder();
  emit(op.loop());
  emit(op.localGet(gPtr), op.v128Load(0), op.localSet(first + G));
  emitSigmoid(emit, first);
  emit(op.localGet(yPtr), op.localGet(first + G), op.localGet(first + S), op.f32x4Mul());
  emit(op.localGet(uPtr), op.v128Load(0), op.f32x4Mul(), op.v128Store(0));
  emitAdvance(emit, 3, count);
  emit(op.end(), op.end());
  return [...v128Locals(), ...code];
}

/** dg = dy s u (1 + g (1 - s)), du = dy s g. */
function backwardBody(): number[] {
  const [gPtr, uPtr, dyPtr, dgPtr, duPtr, count, first] = [0, 1, 2, 3, 4, 5, 6];
  const ds = first + R; // r is free once sigmoid is done
  const { code, emit } = codeBuilder();
  emit(op.loop());
  emit(op.localGet(gPtr), op.v128Load(0), op.localSet(first + G));
  emitSigmoid(emit, first);
  emit(op.localGet(dyPtr), op.v128Load(0), op.localGet(first + S), op.f32x4Mul(), op.localSet(ds));
  emit(op.localGet(duPtr), op.localGet(ds), op.localGet(first + G), op.f32x4Mul(), op.v128Store(0));
  emit(op.localGet(dgPtr), op.localGet(ds), op.localGet(uPtr), op.v128Load(0), op.f32x4Mul());
  emit(op.f32x4Const(1), op.localGet(first + G), op.f32x4Const(1), op.localGet(first + S), op.f32x4Sub());
  emit(op.f32x4Mul(), op.f32x4Add(), op.f32x4Mul(), op.v128Store(0));
  emitAdvance(emit, 5, count);
  emit(op.end(), op.end());
  return [...v128Locals(), ...code];
}

/** The module: exports `siluMul`, `siluMulBackward` and its `memory` (initially `pages` of 64 KiB). */
export function siluModuleBytes(pages: number): Uint8Array {
  const functions: ExportedFunction[] = [
    { name: 'siluMul', i32Params: 4, body: forwardBody() },
    { name: 'siluMulBackward', i32Params: 6, body: backwardBody() },
  ];
  return moduleBytes(functions, pages);
}
