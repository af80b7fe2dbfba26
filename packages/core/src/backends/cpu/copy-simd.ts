/**
 * Strided copies into a dense destination (the head splits and merges of attention, expands,
 * transposes whose rows stay contiguous) on WebAssembly, any dtype moved as bytes. The source's span is copied
 * into the kernel's memory, the kernel moves every row there with 16-byte loads and stores, and
 * the destination comes back in one block. A JS loop moves one element per load and store and
 * pays a call or a subarray per row; the two memcpys and the wasm loops take a fraction of that.
 * Where both arrays live in the storages' arena (wasm-arena.ts) and the destination span does not
 * overlap the source span, the kernel moves the rows in place, without the memcpys.
 *
 *   copyRows(dst, src, n0, n1, n2, t0, t1, t2, s0, s1, s2, vectors)
 *
 * copies n0 x n1 x n2 rows of `vectors` (>= 1) 16-byte vectors; row (i0, i1, i2) starts at
 * dst + i0 t0 + i1 t1 + i2 t2 and src + i0 s0 + i1 s1 + i2 s2 (bytes). Every count is >= 1.
 */
import type { View } from '../../backend.js';
import type { HostArray } from '../../dtype.js';
import { collapseDims, sizeOf } from '../../shape.js';
import { codeBuilder, type ModuleMemory, moduleBytes, op, TYPE } from './wasm-encoding.js';
import { arenaKernelLoader, kernelLoader, reserveFloats } from './wasm-instance.js';

/** The outer dimensions the kernel's loops walk, after the contiguous row. */
const OUTER = 3;
/** The largest copy (source span plus destination) that goes through the kernel's memory. */
const MAX_BYTES = 2 ** 24;

// Parameters, then locals.
const [DST, SRC, N0, T0, S0, VECTORS] = [0, 1, 2, 5, 8, 11];
// Locals: a counter and the destination and source row pointers of each level, then the row's own.
const [I0, D0, R0, K, DP, SP] = [12, 15, 18, 21, 22, 23];
const LOCALS = 12;

/** Emits the loop over outer dimension `level`; its row pointers start where the enclosing level's are. */
function emitLevel(emit: (...instructions: number[][]) => void, level: number): void {
  const [count, dst, src] = [I0 + level, D0 + level, R0 + level];
  emit(op.localGet(N0 + level), op.localSet(count));
  emit(op.loop());
  if (level + 1 < OUTER) {
    emit(op.localGet(dst), op.localSet(D0 + level + 1), op.localGet(src), op.localSet(R0 + level + 1));
    emitLevel(emit, level + 1);
  } else {
    // The row: `vectors` 16-byte moves.
    emit(op.localGet(dst), op.localSet(DP), op.localGet(src), op.localSet(SP), op.localGet(VECTORS), op.localSet(K));
    emit(op.loop());
    emit(op.localGet(DP), op.localGet(SP), op.v128Load(0), op.v128Store(0));
    emit(op.localGet(DP), op.i32Const(16), op.i32Add(), op.localSet(DP));
    emit(op.localGet(SP), op.i32Const(16), op.i32Add(), op.localSet(SP));
    emit(op.localGet(K), op.i32Const(1), op.i32Sub(), op.localTee(K), op.brIf(0));
    emit(op.end());
  }
  emit(op.localGet(dst), op.localGet(T0 + level), op.i32Add(), op.localSet(dst));
  emit(op.localGet(src), op.localGet(S0 + level), op.i32Add(), op.localSet(src));
  emit(op.localGet(count), op.i32Const(1), op.i32Sub(), op.localTee(count), op.brIf(0));
  emit(op.end());
}

function copyRowsBody(): number[] {
  const { code, emit } = codeBuilder();
  emit(op.localGet(DST), op.localSet(D0), op.localGet(SRC), op.localSet(R0));
  emitLevel(emit, 0);
  emit(op.end());
  return [1, LOCALS, TYPE.i32, ...code];
}

type CopyRows = (...args: number[]) => void;

const copyModuleBytes = (memory: ModuleMemory) =>
  moduleBytes([{ name: 'copyRows', i32Params: 12, body: copyRowsBody() }], 1, memory);
const bind = (exports: Record<string, unknown>) => ({ copyRows: exports.copyRows as CopyRows });
const loadKernel = kernelLoader(() => copyModuleBytes('own'), bind);
const loadArenaKernel = arenaKernelLoader(() => copyModuleBytes('imported'), bind);

/** First and one-past-last element a view with non-negative strides touches; null for a negative stride. */
function spanOf(view: View): [number, number] | null {
  let last = view.offset;
  for (let d = 0; d < view.shape.length; d++) {
    const stride = view.strides[d] as number;
    if (stride < 0) return null;
    last += ((view.shape[d] as number) - 1) * stride;
  }
  return [view.offset, last + 1];
}

/** The bytes of `values[from, to)`. */
function bytesOf(values: HostArray, from: number, to: number): Uint8Array {
  const width = values.BYTES_PER_ELEMENT;
  return new Uint8Array(values.buffer, values.byteOffset + from * width, (to - from) * width);
}

/**
 * Copies `srcView` of `from` into `dstView` of `to` (same dtype, moved as bytes); false, doing
 * nothing, unless there are elements, the destination is dense, rows are contiguous on both sides
 * and a multiple of 16 bytes long, there are at most OUTER outer dimensions, and WebAssembly SIMD
 * is available.
 */
export function copySimd(from: HostArray, srcView: View, to: HostArray, dstView: View): boolean {
  const width = from.BYTES_PER_ELEMENT;
  const size = sizeOf(srcView.shape);
  const src = spanOf(srcView);
  const dst = spanOf(dstView);
  if (size === 0 || !src || !dst || dst[1] - dst[0] !== size || (size + src[1] - src[0]) * width > MAX_BYTES) {
    return false;
  }
  const { shape: dims, strides } = collapseDims(srcView.shape, [dstView.strides, srcView.strides]);
  const rank = dims.length;
  const rowBytes = (dims[rank - 1] as number) * width;
  const [dstStrides, srcStrides] = strides as [number[], number[]];
  if (rank < 2 || rank > OUTER + 1 || dstStrides[rank - 1] !== 1 || srcStrides[rank - 1] !== 1 || rowBytes % 16 !== 0) {
    return false;
  }
  // Outer dimensions padded in front with extent 1 (stride 0), so the kernel always runs OUTER loops.
  const padded = (values: readonly number[], fill: number) => [
    ...new Array<number>(OUTER + 1 - rank).fill(fill),
    ...values.slice(0, rank - 1),
  ];
  const bytes = (elements: number[]) => elements.map((e) => e * width);
  const walk = [...padded(dims, 1), ...bytes(padded(dstStrides, 0)), ...bytes(padded(srcStrides, 0))];
  const inArena = loadArenaKernel();
  if (inArena && from.buffer === inArena.arena.buffer && to.buffer === inArena.arena.buffer) {
    const [srcAt, dstAt] = [from.byteOffset + src[0] * width, to.byteOffset + dst[0] * width];
    const [srcEnd, dstEnd] = [from.byteOffset + src[1] * width, to.byteOffset + dst[1] * width];
    if (dstEnd <= srcAt || srcEnd <= dstAt) {
      inArena.copyRows(dstAt, srcAt, ...walk, rowBytes / 16);
      return true;
    }
  }
  const kernel = loadKernel();
  if (!kernel) return false;
  const srcBytes = (src[1] - src[0]) * width;
  reserveFloats(kernel, (srcBytes + size * width) / 4);
  const heap = new Uint8Array(kernel.memory.buffer);
  heap.set(bytesOf(from, src[0], src[1]));
  kernel.copyRows(srcBytes, 0, ...walk, rowBytes / 16);
  bytesOf(to, dst[0], dst[1]).set(heap.subarray(srcBytes, srcBytes + size * width));
  return true;
}
