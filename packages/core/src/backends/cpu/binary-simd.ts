/**
 * float32 and float64 add, sub, mul and div on WebAssembly SIMD (four float32 or two float64
 * lanes), for operands that are each laid out like the output or one broadcast value (residual
 * adds, gradient sums, scaling). The arrays pass through the kernel's memory a chunk at a time
 * (simd-chunks.ts, float64 arrays as pairs of float32 bit patterns); those copies run at memcpy
 * speed, and the SIMD loop with them takes a quarter to a half of the time of a JS loop, which
 * converts every element to float64 and back. A lane operation rounds exactly like the JS
 * loop's float64 operation rounded to the output, so results are identical.
 *
 *   <op><32|64>(outPtr, aPtr, aStep, bPtr, bStep, vectors)    out = a op b
 *
 * over `vectors` (>= 1) 16-byte vectors; a step is 16 bytes for an array operand and 0 for a
 * broadcast value, which then fills the vector at its pointer.
 */
import type { ArithmeticOp } from './elementwise-fast.js';
import { inChunks } from './simd-chunks.js';
import { codeBuilder, type ExportedFunction, moduleBytes, op } from './wasm-encoding.js';
import { kernelLoader } from './wasm-instance.js';

/** Floats per region; three regions (out, a, b) fit in one 64 KiB page. */
const CHUNK = 4096;

const LANE_OPS: Readonly<Record<ArithmeticOp, readonly [() => number[], () => number[]]>> = {
  add: [op.f32x4Add, op.f64x2Add],
  sub: [op.f32x4Sub, op.f64x2Sub],
  mul: [op.f32x4Mul, op.f64x2Mul],
  div: [op.f32x4Div, op.f64x2Div],
};

function body(laneOp: () => number[]): number[] {
  const [outPtr, aPtr, aStep, bPtr, bStep, count] = [0, 1, 2, 3, 4, 5];
  const { code, emit } = codeBuilder();
  emit(op.loop());
  emit(op.localGet(outPtr), op.localGet(aPtr), op.v128Load(0), op.localGet(bPtr), op.v128Load(0));
  emit(laneOp(), op.v128Store(0));
  emit(op.localGet(outPtr), op.i32Const(16), op.i32Add(), op.localSet(outPtr));
  emit(op.localGet(aPtr), op.localGet(aStep), op.i32Add(), op.localSet(aPtr));
  emit(op.localGet(bPtr), op.localGet(bStep), op.i32Add(), op.localSet(bPtr));
  emit(op.localGet(count), op.i32Const(1), op.i32Sub(), op.localTee(count), op.brIf(0));
  emit(op.end(), op.end());
  return [0, ...code]; // no locals beyond the parameters
}

type LaneKernel = (outPtr: number, aPtr: number, aStep: number, bPtr: number, bStep: number, vectors: number) => void;

const loadKernel = kernelLoader(
  () => {
    const functions: ExportedFunction[] = Object.entries(LANE_OPS).flatMap(([name, [f32, f64]]) => [
      { name: `${name}32`, i32Params: 6, body: body(f32) },
      { name: `${name}64`, i32Params: 6, body: body(f64) },
    ]);
    return moduleBytes(functions, 1);
  },
  (exports) => ({ lanes: exports as unknown as Record<string, LaneKernel> }),
);

/** The elements' bytes as float32 words, so float64 arrays copy through the float32 heap bit for bit. */
function words(values: Float32Array | Float64Array): Float32Array {
  return values instanceof Float32Array
    ? values
    : new Float32Array(values.buffer, values.byteOffset, values.length * 2);
}

/**
 * out = a op b, where an operand whose `step` is 1 is read like `out` and one whose step is 0 is
 * its element 0; all three arrays of one type. False (doing nothing) where WebAssembly SIMD is
 * unavailable.
 */
export function binarySimd<T extends Float32Array | Float64Array>(
  op: ArithmeticOp,
  a: T,
  aStep: 0 | 1,
  b: T,
  bStep: 0 | 1,
  out: T,
): boolean {
  const simd = loadKernel();
  if (!simd) return false;
  const heap = simd.heap;
  const wide = out instanceof Float64Array;
  const [aAt, bAt] = [CHUNK, 2 * CHUNK];
  // A broadcast value fills one vector where its region starts.
  const lanesOf = (at: number) => (wide ? new Float64Array(heap.buffer, at * 4, 2) : heap.subarray(at, at + 4));
  if (aStep === 0) lanesOf(aAt).fill(a[0] as number);
  if (bStep === 0) lanesOf(bAt).fill(b[0] as number);
  const read = [...(aStep === 1 ? [1] : []), ...(bStep === 1 ? [2] : [])];
  const lanes = simd.lanes[`${op}${wide ? 64 : 32}`] as LaneKernel;
  const plan = { heap, base: 0, chunk: CHUNK, arrays: [words(out), words(a), words(b)], read, written: [0] };
  inChunks(plan, (vectors) => lanes(0, aAt * 4, aStep * 16, bAt * 4, bStep * 16, vectors));
  return true;
}
