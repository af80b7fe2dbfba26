/**
 * Generates the WebAssembly SIMD kernels of the SwiGLU activation, four float32 lanes at a time:
 *
 *   siluMul(gPtr, uPtr, yPtr, vectors)                     y = silu(g) u
 *   siluMulBackward(gPtr, uPtr, dyPtr, dgPtr, duPtr, vectors)
 *
 * over `vectors` (>= 1) groups of four floats. sigmoid(g) = 1 / (1 + e) with e = exp(x),
 * x = -g clamped to [-87, 87] so that e stays a normal float32: out there sigmoid is within 1.6e-38
 * of 0 or 1, which moves silu(g) by at most 1.6e-38 |g|. exp(x) is 2^n e^r with n = round(x log2 e),
 * r = x - n ln 2 (ln 2 split in two for an exact product) and e^r from a degree-6 polynomial fitted
 * on |r| <= ln 2 / 2 (relative error 2e-9, below float32 rounding; Taylor's needs degree 7). n is
 * rounded by adding 1.5 * 2^23, which leaves n in the low mantissa bits of the sum, so 2^n is that
 * sum shifted into the exponent bits plus the bias. NaN propagates through every step.
 *
 * Only ops V8 compiles to one or two x64 instructions are used in the loop (pmin/pmax, not
 * min/max, which order NaN and -0 by hand; xor with a sign mask, not neg), and the constants are
 * loaded into locals once, before the loop (a v128.const inside it is rebuilt every iteration).
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
const EXP_LIMIT = 87;
/** 1.5 * 2^23: adding it rounds a float32 of magnitude < 2^22 to an integer held in the low mantissa bits. */
const ROUNDER = 12582912;
const EXPONENT_BIAS = 127 << 23;
/** e^r ~ sum of EXP_POLYNOMIAL[k] r^(6-k): a least-maximum-relative-error fit on |r| <= ln 2 / 2. */
const EXP_POLYNOMIAL = [
  0.0013843653616443354, 0.008374155459987792, 0.04166800204205828, 0.16666431260832673, 0.49999994208987203,
  1.000000032165451, 1,
];

const SIGN_BIT = -0x80000000;

/** The constants of the sigmoid, each held in a v128 local: float32 values, then 32-bit integers. */
const FLOAT_CONSTANTS = [-EXP_LIMIT, EXP_LIMIT, Math.LOG2E, ROUNDER, LN2_HI, LN2_LO, ...EXP_POLYNOMIAL];
const INT_CONSTANTS = [SIGN_BIT, EXPONENT_BIAS];
const CONSTANTS = FLOAT_CONSTANTS.length + INT_CONSTANTS.length;

// v128 locals, after the function's i32 parameters: the working values, then the constants.
const G = 0;
const E = 1;
const N = 2;
const R = 3;
const S = 4;
const FIRST_CONSTANT = 5;
const V128_LOCALS = FIRST_CONSTANT + CONSTANTS;

/** Gets the local holding float constant `value` (one of FLOAT_CONSTANTS), locals offset by `first`. */
function constant(first: number, value: number): number[] {
  const index = FLOAT_CONSTANTS.indexOf(value);
  if (index < 0) throw new Error(`internal: ${value} is not a sigmoid constant`);
  return op.localGet(first + FIRST_CONSTANT + index);
}

/** Gets the local holding integer constant `value` (one of INT_CONSTANTS). */
function intConstant(first: number, value: number): number[] {
  return op.localGet(first + FIRST_CONSTANT + FLOAT_CONSTANTS.length + INT_CONSTANTS.indexOf(value));
}

/** Sets the constant locals (once per call, before the loop). */
function emitConstants(emit: Emit, first: number): void {
  for (const [index, value] of FLOAT_CONSTANTS.entries())
    emit(op.f32x4Const(value), op.localSet(first + FIRST_CONSTANT + index));
  for (const [index, value] of INT_CONSTANTS.entries())
    emit(op.i32x4Const(value), op.localSet(first + FIRST_CONSTANT + FLOAT_CONSTANTS.length + index));
}

/** Leaves sigmoid(g) in local s, reading g from local g (locals offset by `first`). */
function emitSigmoid(emit: Emit, first: number): void {
  const [g, e, n, r, s] = [G, E, N, R, S].map((local) => first + local) as [number, number, number, number, number];
  const k = (value: number) => constant(first, value);
  // x = -g clamped to [-EXP_LIMIT, EXP_LIMIT] (NaN stays NaN), kept in r; e holds x log2 e + ROUNDER,
  // n = nearest(x log2 e).
  emit(op.localGet(g), intConstant(first, SIGN_BIT), op.v128Xor(), k(-EXP_LIMIT), op.f32x4Pmax());
  emit(k(EXP_LIMIT), op.f32x4Pmin(), op.localSet(r));
  emit(op.localGet(r), k(Math.LOG2E), op.f32x4Mul(), k(ROUNDER), op.f32x4Add(), op.localTee(e));
  emit(k(ROUNDER), op.f32x4Sub(), op.localSet(n));
  // r = x - n LN2_HI - n LN2_LO
  emit(op.localGet(r), op.localGet(n), k(LN2_HI), op.f32x4Mul(), op.f32x4Sub());
  emit(op.localGet(n), k(LN2_LO), op.f32x4Mul(), op.f32x4Sub(), op.localSet(r));
  // e^r by Horner's rule.
  emit(k(EXP_POLYNOMIAL[0] as number));
  for (const c of EXP_POLYNOMIAL.slice(1)) emit(op.localGet(r), op.f32x4Mul(), k(c), op.f32x4Add());
  // times 2^n: the rounded sum's bits are ROUNDER's plus n, and shifted left by 23 they are n << 23
  // (ROUNDER's bits shift out); plus the exponent bias that is 2^n's bits.
  emit(op.localGet(e), op.i32Const(23), op.i32x4Shl(), intConstant(first, EXPONENT_BIAS));
  emit(op.i32x4Add(), op.f32x4Mul(), op.localSet(e));
  // s = 1 / (1 + e)
  emit(k(1), k(1), op.localGet(e), op.f32x4Add(), op.f32x4Div(), op.localSet(s));
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
  emitConstants(emit, first);
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
  const k = (value: number) => constant(first, value);
  const { code, emit } = codeBuilder();
  emitConstants(emit, first);
  emit(op.loop());
  emit(op.localGet(gPtr), op.v128Load(0), op.localSet(first + G));
  emitSigmoid(emit, first);
  emit(op.localGet(dyPtr), op.v128Load(0), op.localGet(first + S), op.f32x4Mul(), op.localSet(ds));
  emit(op.localGet(duPtr), op.localGet(ds), op.localGet(first + G), op.f32x4Mul(), op.v128Store(0));
  emit(op.localGet(dgPtr), op.localGet(ds), op.localGet(uPtr), op.v128Load(0), op.f32x4Mul());
  emit(k(1), op.localGet(first + G), k(1), op.localGet(first + S), op.f32x4Sub());
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
