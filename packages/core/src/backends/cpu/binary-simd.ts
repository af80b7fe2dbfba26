/**
 * float32 add, sub, mul and div on WebAssembly SIMD, four lanes at a time, for operands that are
 * each laid out like the output or one broadcast value (residual adds, gradient sums, scaling).
 * The arrays pass through the kernel's memory CHUNK elements at a time (simd-chunks.ts); those
 * copies run at memcpy speed, and the SIMD loop with them still takes a quarter of the time of a
 * JS loop, which converts every element to float64 and back. A float32 lane operation rounds
 * exactly like the JS loop's float64 operation rounded to float32, so results are identical.
 *
 *   <op>(outPtr, aPtr, aStep, bPtr, bStep, vectors)    out = a op b
 *
 * over `vectors` (>= 1) groups of four floats; a step is 16 bytes for an array operand and 0 for a
 * broadcast value, which then sits in the four floats at its pointer.
 */
import type { ArithmeticOp } from './elementwise-fast.js';
import { inChunks } from './simd-chunks.js';
import { codeBuilder, type ExportedFunction, moduleBytes, op } from './wasm-encoding.js';
import { kernelLoader } from './wasm-instance.js';

const CHUNK = 4096;

const LANE_OP: Readonly<Record<ArithmeticOp, () => number[]>> = {
  add: op.f32x4Add,
  sub: op.f32x4Sub,
  mul: op.f32x4Mul,
  div: op.f32x4Div,
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

/** Three regions of CHUNK floats (out, a, b) fit in one 64 KiB page. */
const loadKernel = kernelLoader(
  () => {
    const functions: ExportedFunction[] = Object.entries(LANE_OP).map(([name, laneOp]) => ({
      name,
      i32Params: 6,
      body: body(laneOp),
    }));
    return moduleBytes(functions, 1);
  },
  (exports) => ({ lanes: exports as unknown as Record<ArithmeticOp, LaneKernel> }),
);

/**
 * out = a op b, where an operand whose `step` is 1 is read like `out` and one whose step is 0 is
 * its element 0; false (doing nothing) where WebAssembly SIMD is unavailable.
 */
export function binarySimd(
  op: ArithmeticOp,
  a: Float32Array,
  aStep: 0 | 1,
  b: Float32Array,
  bStep: 0 | 1,
  out: Float32Array,
): boolean {
  const simd = loadKernel();
  if (!simd) return false;
  const heap = simd.heap;
  const [aAt, bAt] = [CHUNK, 2 * CHUNK];
  // A broadcast value is written once, in all four lanes, where its region starts.
  if (aStep === 0) heap.fill(a[0] as number, aAt, aAt + 4);
  if (bStep === 0) heap.fill(b[0] as number, bAt, bAt + 4);
  const read = [...(aStep === 1 ? [1] : []), ...(bStep === 1 ? [2] : [])];
  const lanes = simd.lanes[op];
  const plan = { heap, base: 0, chunk: CHUNK, arrays: [out, a, b], read, written: [0] };
  inChunks(plan, (vectors) => lanes(0, aAt * 4, aStep * 16, bAt * 4, bStep * 16, vectors));
  return true;
}
