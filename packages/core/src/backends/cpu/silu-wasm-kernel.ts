/**
 * Generates the WebAssembly SIMD kernels of the SwiGLU activation, four float32 lanes at a time:
 *
 *   siluMul(gPtr, uPtr, yPtr, vectors)                     y = silu(g) u
 *   siluMulBackward(gPtr, uPtr, dyPtr, dgPtr, duPtr, vectors)
 *
 * over `vectors` (>= 1) groups of four floats. sigmoid(g) = 1 / (1 + exp(-g)), with -g held in
 * [-87, 87] so that the exp stays a normal float32: out there sigmoid is within 1.6e-38 of 0 or 1,
 * which moves silu(g) by at most 1.6e-38 |g|. The exp is wasm-exp.ts's. NaN propagates.
 *
 * Only ops V8 compiles to one or two x64 instructions are used in the loop (pmin/pmax, not
 * min/max, which order NaN and -0 by hand; xor with a sign mask, not neg), and the constants are
 * loaded into locals once, before the loop (a v128.const inside it is rebuilt every iteration).
 */
import {
  codeBuilder,
  type Emit,
  type ExportedFunction,
  type ModuleMemory,
  moduleBytes,
  op,
  TYPE,
  unsignedLeb,
  vector,
} from './wasm-encoding.js';
import { EXP_LOCALS, emitExp, emitExpConstants } from './wasm-exp.js';

const EXP_LIMIT = 87;
const SIGN_BIT = -0x80000000;

// v128 locals, after the function's i32 parameters: the working values, the sigmoid's constants,
// then the exp's own locals (wasm-exp.ts).
const G = 0;
const S = 1;
const SCRATCH = 2;
const SIGN_MASK = 3;
const LIMIT = 4;
const ONE = 5;
const EXP_FIRST = 6;
const V128_LOCALS = EXP_FIRST + EXP_LOCALS;

/** Sets the constant locals (once per call, before the loop). */
function emitConstants(emit: Emit, first: number): void {
  emit(op.i32x4Const(SIGN_BIT), op.localSet(first + SIGN_MASK));
  emit(op.f32x4Const(EXP_LIMIT), op.localSet(first + LIMIT));
  emit(op.f32x4Const(1), op.localSet(first + ONE));
  emitExpConstants(emit, first + EXP_FIRST);
}

/** Leaves sigmoid(g) = 1 / (1 + exp(-g)) in local s, reading g from local g (locals offset by `first`). */
function emitSigmoid(emit: Emit, first: number): void {
  const one = op.localGet(first + ONE);
  emit(one, one);
  // -g by its sign bit, held at EXP_LIMIT or below (emitExp holds it at -EXP_LIMIT or above).
  emit(op.localGet(first + G), op.localGet(first + SIGN_MASK), op.v128Xor());
  emit(op.localGet(first + LIMIT), op.f32x4Pmin());
  emitExp(emit, first + EXP_FIRST);
  emit(op.f32x4Add(), op.f32x4Div(), op.localSet(first + S));
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
  const ds = first + SCRATCH;
  const one = op.localGet(first + ONE);
  const { code, emit } = codeBuilder();
  emitConstants(emit, first);
  emit(op.loop());
  emit(op.localGet(gPtr), op.v128Load(0), op.localSet(first + G));
  emitSigmoid(emit, first);
  emit(op.localGet(dyPtr), op.v128Load(0), op.localGet(first + S), op.f32x4Mul(), op.localSet(ds));
  emit(op.localGet(duPtr), op.localGet(ds), op.localGet(first + G), op.f32x4Mul(), op.v128Store(0));
  emit(op.localGet(dgPtr), op.localGet(ds), op.localGet(uPtr), op.v128Load(0), op.f32x4Mul());
  emit(one, op.localGet(first + G), one, op.localGet(first + S), op.f32x4Sub());
  emit(op.f32x4Mul(), op.f32x4Add(), op.f32x4Mul(), op.v128Store(0));
  emitAdvance(emit, 5, count);
  emit(op.end(), op.end());
  return [...v128Locals(), ...code];
}

/** The module: exports `siluMul`, `siluMulBackward` and its `memory` (initially `pages` of 64 KiB, or the imported arena). */
export function siluModuleBytes(pages: number, memory: ModuleMemory = 'own'): Uint8Array {
  const functions: ExportedFunction[] = [
    { name: 'siluMul', i32Params: 4, body: forwardBody() },
    { name: 'siluMulBackward', i32Params: 6, body: backwardBody() },
  ];
  return moduleBytes(functions, pages, memory);
}
