/**
 * float32 and float64 add, sub, mul and div on WebAssembly SIMD (four float32 or two float64
 * lanes), for operands that are each laid out like the output, one broadcast value or one
 * broadcast row (residual adds, gradient sums, scaling, biases). The arrays pass through the kernel's memory a chunk at a time
 * (simd-chunks.ts, float64 arrays as pairs of float32 bit patterns); those copies run at memcpy
 * speed, and the SIMD loop with them takes a quarter to a half of the time of a JS loop, which
 * converts every element to float64 and back. A lane operation rounds exactly like the JS
 * loop's float64 operation rounded to the output, so results are identical.
 *
 *   <op><32|64>(outPtr, aPtr, aStep, bPtr, bStep, vectors)    out = a op b
 *
 * over `vectors` (>= 1) 16-byte vectors; a step is 16 bytes for an array operand and 0 for a
 * broadcast value, which then fills the vector at its pointer. A broadcast row (a bias) is laid
 * out repeated over its whole region once and read like an array.
 *
 * Where the output and the array operands live in the storages' arena (wasm-arena.ts) and no
 * operand is a broadcast row, the kernel runs in place over their whole vectors instead (a
 * broadcast value in the arena's scratch); the chunks then cover only the last partial vector.
 */
import type { ArithmeticOp } from './elementwise-fast.js';
import { inArena, inChunks } from './simd-chunks.js';
import { codeBuilder, type ExportedFunction, type ModuleMemory, moduleBytes, op } from './wasm-encoding.js';
import { arenaKernelLoader, kernelLoader } from './wasm-instance.js';

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

function laneModuleBytes(memory: ModuleMemory): Uint8Array {
  const functions: ExportedFunction[] = Object.entries(LANE_OPS).flatMap(([name, [f32, f64]]) => [
    { name: `${name}32`, i32Params: 6, body: body(f32) },
    { name: `${name}64`, i32Params: 6, body: body(f64) },
  ]);
  return moduleBytes(functions, 1, memory);
}

const bind = (exports: Record<string, unknown>) => ({ lanes: exports as unknown as Record<string, LaneKernel> });
const loadKernel = kernelLoader(() => laneModuleBytes('own'), bind);
const loadArenaKernel = arenaKernelLoader(() => laneModuleBytes('imported'), bind);

/** The elements' bytes as float32 words, so float64 arrays copy through the float32 heap bit for bit. */
function words(values: Float32Array | Float64Array): Float32Array {
  return values instanceof Float32Array
    ? values
    : new Float32Array(values.buffer, values.byteOffset, values.length * 2);
}

/** Greatest common divisor, for the chunk length that holds whole broadcast rows. */
function gcd(x: number, y: number): number {
  return y === 0 ? x : gcd(y, x % y);
}

/**
 * out = a op b, each operand described by its period (elementwise-fast.ts `periodOf`): 0 read
 * like `out`, 1 its element 0, p > 1 its first p elements repeated. All three arrays of one type.
 * False (doing nothing) where WebAssembly SIMD is unavailable or a broadcast row is too long for
 * the kernel's memory.
 */
export function binarySimd<T extends Float32Array | Float64Array>(
  op: ArithmeticOp,
  a: T,
  aPeriod: number,
  b: T,
  bPeriod: number,
  out: T,
): boolean {
  const wordsPerElement = out instanceof Float64Array ? 2 : 1;
  // A chunk holds whole vectors and, when an operand is a broadcast row, whole rows of it, so
  // every chunk starts at the row's first element.
  let unit = 4;
  for (const period of [aPeriod, bPeriod]) {
    if (period > 1) unit = (unit / gcd(unit, period * wordsPerElement)) * period * wordsPerElement;
  }
  const chunk = Math.floor(CHUNK / unit) * unit;
  const simd = chunk > 0 ? loadKernel() : null;
  if (!simd) return false;
  const name = `${op}${wordsPerElement === 2 ? 64 : 32}`;
  const done =
    aPeriod <= 1 && bPeriod <= 1 ? inPlace(name, wordsPerElement, words(a), aPeriod, words(b), bPeriod, words(out)) : 0;
  const heap = simd.heap;
  const rest = (values: Float32Array, period: number) => (period === 0 ? values.subarray(done) : values);
  const operands = [
    { values: rest(words(a), aPeriod), period: aPeriod, at: chunk },
    { values: rest(words(b), bPeriod), period: bPeriod, at: 2 * chunk },
  ];
  // Regions (simd-chunks.ts): out, a, b. A broadcast value fills the first vector of its region
  // (read with step 0); a broadcast row fills the whole region (read like an array).
  for (const { values, period, at } of operands) {
    const span = period * wordsPerElement;
    if (period === 1) {
      for (let lane = 0; lane < 4; lane += wordsPerElement) heap.set(values.subarray(0, span), at + lane);
    }
    if (period > 1) for (let from = 0; from < chunk; from += span) heap.set(values.subarray(0, span), at + from);
  }
  const read = operands.flatMap(({ period }, k) => (period === 0 ? [k + 1] : []));
  const steps = operands.map(({ period }) => (period === 1 ? 0 : 16));
  const lanes = simd.lanes[name] as LaneKernel;
  const plan = {
    heap,
    base: 0,
    chunk,
    arrays: [words(out).subarray(done), operands[0]!.values, operands[1]!.values],
    read,
    written: [0],
  };
  inChunks(plan, (vectors) => lanes(0, chunk * 4, steps[0]!, 2 * chunk * 4, steps[1]!, vectors));
  return true;
}

/**
 * Runs the lane kernel `name` in place over the whole vectors of `out` (as float32 words) where it
 * and the array operands (period 0) live in the arena, a broadcast value (period 1) read from the
 * arena's scratch; returns the words covered (0 where it does not apply).
 */
function inPlace(
  name: string,
  wordsPerElement: number,
  a: Float32Array,
  aPeriod: number,
  b: Float32Array,
  bPeriod: number,
  out: Float32Array,
): number {
  const simd = loadArenaKernel();
  const vectors = Math.floor(out.length / 4);
  if (!simd || vectors === 0) return 0;
  const operands = [
    { values: a, period: aPeriod },
    { values: b, period: bPeriod },
  ];
  const arrays = [out, ...operands.flatMap(({ values, period }) => (period === 0 ? [values] : []))];
  if (!inArena(simd.arena.buffer, arrays, [0], true)) return 0;
  // Operand k's broadcast value fills scratch vector k.
  const pointers = operands.map(({ values, period }, k) => {
    if (period === 0) return values.byteOffset;
    const value = values.subarray(0, wordsPerElement);
    for (let lane = 0; lane < 4; lane += wordsPerElement) simd.arena.heap.set(value, 4 * k + lane);
    return 16 * k;
  });
  const steps = operands.map(({ period }) => (period === 1 ? 0 : 16));
  (simd.lanes[name] as LaneKernel)(out.byteOffset, pointers[0]!, steps[0]!, pointers[1]!, steps[1]!, vectors);
  return vectors * 4;
}
