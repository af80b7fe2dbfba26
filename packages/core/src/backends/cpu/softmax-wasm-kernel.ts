/**
 * Generates the WebAssembly SIMD row kernels of softmax, log-softmax and cross-entropy, four
 * float32 lanes at a time, on `rows` contiguous rows of `cols` floats (any length: a row's last
 * 1-3 floats are read as one vector whose lanes beyond the row are masked out, and stored by
 * blending with what memory held there, so a region needs 3 floats of slack after its end):
 *
 *   maxSumExp(xPtr, maxPtr, sumPtr, rows, cols)
 *     max[r] = max(x[r]), sum[r] = sum(exp(x[r] - max[r]))       (cross-entropy, log-softmax)
 *   expScaled(xPtr, gPtr, outPtr, maxPtr, scalePtr, rows, cols)
 *     out[r] = exp(x[r] - max[r]) * scale[r], scale[r] = g[r] / sum(exp(x[r] - max[r]))
 *                                                     (softmax with g = 1, cross-entropy backward)
 *   subtractRow(xPtr, shiftPtr, outPtr, rows, cols)  out[r] = x[r] - shift[r]   (log-softmax)
 *   softmaxBackward(yPtr, dyPtr, dxPtr, rows, cols)  dx = y (dy - sum(dy y))
 *   logSoftmaxBackward(yPtr, dyPtr, dxPtr, rows, cols)  dx = dy - exp(y) sum(dy)
 *
 * exp is wasm-exp.ts's: its argument is x - max <= 0 here, or a log-probability y, held at 87 or
 * below (exp(87) is 6e37; log-probabilities are <= 0). Sums run over four lanes, added at the
 * end of the row; max, sum and scale are per-row float32 arrays.
 */
import {
  codeBuilder,
  type Emit,
  type ExportedFunction,
  emitLanes,
  type ModuleMemory,
  moduleBytes,
  op,
  TYPE,
  unsignedLeb,
  vector,
} from './wasm-encoding.js';
import { EXP_LOCALS, emitExp, emitExpConstants } from './wasm-exp.js';

/** Where the exp's argument is held from above (see the header). */
const EXP_CEILING = 87;

/** A tuple of N local indices. */
type Indices<N extends number, T extends number[] = []> = T['length'] extends N ? T : Indices<N, [...T, number]>;

/**
 * Local indices handed out after the i32 parameters: all i32 locals must be taken before the
 * first v128 local (the declarations list them in that order).
 */
function localPlan(params: number) {
  let next = params;
  const counts = { i32: 0, v128: 0 };
  const take = <N extends number>(type: keyof typeof counts, count: N): Indices<N> => {
    if (type === 'i32' && counts.v128 > 0) throw new Error('internal: i32 local after a v128 local');
    const got = Array.from({ length: count }, (_, i) => next + i);
    next += count;
    counts[type] += count;
    return got as Indices<N>;
  };
  return {
    i32: <N extends number>(count: N) => take('i32', count),
    v128: <N extends number>(count: N) => take('v128', count),
    /** The first of `count` consecutive v128 locals. */
    v128Block: (count: number) => {
      const first = next;
      take('v128', count);
      return first;
    },
    declarations: () =>
      vector([
        [...unsignedLeb(counts.i32), TYPE.i32],
        [...unsignedLeb(counts.v128), TYPE.v128],
      ]),
  };
}

/**
 * A kernel's shared frame: the row loop, the per-row pass over whole vectors and the masked tail,
 * and the constants every kernel needs (the tail's lane mask, 0 and -Infinity). The i32 locals
 * must be allocated before any v128 local (declaration order), so kernels allocate theirs first.
 */
function rowFrame(plan: ReturnType<typeof localPlan>, emit: Emit, rows: number, cols: number) {
  const [full, tail, count, rowBytes] = plan.i32(4);
  const [firstPointer] = plan.i32(4); // up to four, consecutive
  const [mask, zero, negativeInfinity] = plan.v128(3);
  const setup = () => {
    emit(op.localGet(cols), op.i32Const(2), op.i32ShrU(), op.localSet(full));
    emit(op.localGet(cols), op.localGet(full), op.i32Const(4), op.i32Mul(), op.i32Sub(), op.localSet(tail));
    emit(op.localGet(cols), op.i32Const(4), op.i32Mul(), op.localSet(rowBytes));
    // mask: all ones in lanes 0 .. tail - 1
    const indices = Array.from(new Uint8Array(Int32Array.of(0, 1, 2, 3).buffer));
    emit([0xfd, ...unsignedLeb(0x0c), ...indices], op.localGet(tail), op.i32x4Splat(), op.i32x4LtS());
    emit(op.localSet(mask), op.v128Zero(), op.localSet(zero));
    emit(op.f32x4Const(Number.NEGATIVE_INFINITY), op.localSet(negativeInfinity));
  };
  /** Runs `body(masked)` over the row's vectors, each of `bases` (pointer locals) walked by a pointer of its own. */
  const pass = <const T extends readonly number[]>(bases: T, body: (at: T, masked: boolean) => void) => {
    const at = bases.map((_, i) => firstPointer + i) as unknown as T;
    for (const [i, base] of bases.entries()) emit(op.localGet(base), op.localSet(firstPointer + i));
    emit(op.block(), op.localGet(full), op.localTee(count), op.i32Eqz(), op.brIf(0), op.loop());
    body(at, false);
    for (const p of at) emit(op.localGet(p), op.i32Const(16), op.i32Add(), op.localSet(p));
    emit(op.localGet(count), op.i32Const(1), op.i32Sub(), op.localTee(count), op.brIf(0));
    emit(op.end(), op.end());
    emit(op.block(), op.localGet(tail), op.i32Eqz(), op.brIf(0));
    body(at, true);
    emit(op.end());
  };
  /** Loops `body` over the rows (none when rows is 0), then moves each row pointer on by one row. */
  const eachRow = (rowPointers: readonly number[], scalarPointers: readonly number[], body: () => void) => {
    emit(op.block(), op.localGet(rows), op.i32Eqz(), op.brIf(0), op.loop());
    body();
    for (const p of rowPointers) emit(op.localGet(p), op.localGet(rowBytes), op.i32Add(), op.localSet(p));
    for (const p of scalarPointers) emit(op.localGet(p), op.i32Const(4), op.i32Add(), op.localSet(p));
    emit(op.localGet(rows), op.i32Const(1), op.i32Sub(), op.localTee(rows), op.brIf(0), op.end(), op.end());
  };
  /** Stores the v128 in local `value` at `ptr`; a masked store keeps memory's lanes beyond the row. */
  const store = (ptr: number, value: number, masked: boolean) => {
    emit(op.localGet(ptr), op.localGet(value));
    if (masked) emit(op.localGet(ptr), op.v128Load(0), op.localGet(mask), op.v128Bitselect());
    emit(op.v128Store(0));
  };
  /** Replaces the v128 on the stack by itself in the row's lanes and `fill` (a v128 local) beyond, when masked. */
  const keep = (fill: number, masked: boolean) => {
    if (masked) emit(op.localGet(fill), op.localGet(mask), op.v128Bitselect());
  };
  return { setup, pass, eachRow, store, keep, zero, negativeInfinity };
}

/** Leaves the row's maximum, splat, in v128 local `max` (acc is scratch). */
function emitRowMax(emit: Emit, frame: ReturnType<typeof rowFrame>, x: number, acc: number, max: number): void {
  emit(op.localGet(frame.negativeInfinity), op.localSet(acc));
  frame.pass([x], ([p], masked) => {
    emit(op.localGet(acc), op.localGet(p), op.v128Load(0));
    frame.keep(frame.negativeInfinity, masked);
    emit(op.f32x4Pmax(), op.localSet(acc));
  });
  emitLanes(emit, acc, op.f32Max);
  emit(op.f32x4Splat(), op.localSet(max));
}

function maxSumExpBody(): number[] {
  const [x, maxPtr, sumPtr, rows, cols] = [0, 1, 2, 3, 4];
  const plan = localPlan(5);
  const { code, emit } = codeBuilder();
  const frame = rowFrame(plan, emit, rows, cols);
  const [acc, max, e] = plan.v128(3);
  const expLocals = plan.v128Block(EXP_LOCALS);
  frame.setup();
  emitExpConstants(emit, expLocals);
  frame.eachRow([x], [maxPtr, sumPtr], () => {
    emitRowMax(emit, frame, x, acc, max);
    emit(op.localGet(maxPtr), op.localGet(max), op.f32x4ExtractLane(0), op.f32Store(0));
    emit(op.localGet(frame.zero), op.localSet(acc));
    frame.pass([x], ([p], masked) => {
      emit(op.localGet(p), op.v128Load(0), op.localGet(max), op.f32x4Sub());
      emitExp(emit, expLocals);
      frame.keep(frame.zero, masked);
      emit(op.localSet(e), op.localGet(acc), op.localGet(e), op.f32x4Add());
      emit(op.localSet(acc));
    });
    emit(op.localGet(sumPtr));
    emitLanes(emit, acc, op.f32Add);
    emit(op.f32Store(0));
  });
  return [...plan.declarations(), ...code, ...op.end()];
}

function expScaledBody(): number[] {
  const [x, gPtr, out, maxPtr, scalePtr, rows, cols] = [0, 1, 2, 3, 4, 5, 6];
  const plan = localPlan(7);
  const { code, emit } = codeBuilder();
  const frame = rowFrame(plan, emit, rows, cols);
  const [acc, max, e, scale] = plan.v128(4);
  const expLocals = plan.v128Block(EXP_LOCALS);
  frame.setup();
  emitExpConstants(emit, expLocals);
  frame.eachRow([x, out], [gPtr, maxPtr, scalePtr], () => {
    emitRowMax(emit, frame, x, acc, max);
    emit(op.localGet(maxPtr), op.localGet(max), op.f32x4ExtractLane(0), op.f32Store(0));
    emit(op.localGet(frame.zero), op.localSet(acc));
    frame.pass([x, out], ([p, q], masked) => {
      emit(op.localGet(p), op.v128Load(0), op.localGet(max), op.f32x4Sub());
      emitExp(emit, expLocals);
      frame.keep(frame.zero, masked);
      emit(op.localSet(e));
      frame.store(q, e, masked);
      emit(op.localGet(acc), op.localGet(e), op.f32x4Add(), op.localSet(acc));
    });
    // scale = g / sum
    emit(op.localGet(scalePtr), op.localGet(gPtr), op.v128Load32Splat(0), op.f32x4ExtractLane(0));
    emitLanes(emit, acc, op.f32Add);
    emit(op.f32Div(), op.f32Store(0), op.localGet(scalePtr), op.v128Load32Splat(0), op.localSet(scale));
    frame.pass([out], ([q], masked) => {
      emit(op.localGet(q), op.v128Load(0), op.localGet(scale), op.f32x4Mul(), op.localSet(e));
      frame.store(q, e, masked);
    });
  });
  return [...plan.declarations(), ...code, ...op.end()];
}

function subtractRowBody(): number[] {
  const [x, shiftPtr, out, rows, cols] = [0, 1, 2, 3, 4];
  const plan = localPlan(5);
  const { code, emit } = codeBuilder();
  const frame = rowFrame(plan, emit, rows, cols);
  const [shift, y] = plan.v128(2);
  frame.setup();
  frame.eachRow([x, out], [shiftPtr], () => {
    emit(op.localGet(shiftPtr), op.v128Load32Splat(0), op.localSet(shift));
    frame.pass([x, out], ([p, q], masked) => {
      emit(op.localGet(p), op.v128Load(0), op.localGet(shift), op.f32x4Sub(), op.localSet(y));
      frame.store(q, y, masked);
    });
  });
  return [...plan.declarations(), ...code, ...op.end()];
}

/** softmax: dx = y (dy - sum(dy y)); log-softmax: dx = dy - exp(y) sum(dy). */
function backwardBody(log: boolean): number[] {
  const [y, dy, dx, rows, cols] = [0, 1, 2, 3, 4];
  const plan = localPlan(5);
  const { code, emit } = codeBuilder();
  const frame = rowFrame(plan, emit, rows, cols);
  const [acc, total, value, ceiling] = plan.v128(4);
  const expLocals = plan.v128Block(EXP_LOCALS);
  frame.setup();
  if (log) {
    emitExpConstants(emit, expLocals);
    emit(op.f32x4Const(EXP_CEILING), op.localSet(ceiling));
  }
  frame.eachRow([y, dy, dx], [], () => {
    emit(op.localGet(frame.zero), op.localSet(acc));
    frame.pass([y, dy], ([p, g], masked) => {
      emit(op.localGet(acc), op.localGet(g), op.v128Load(0));
      if (!log) emit(op.localGet(p), op.v128Load(0), op.f32x4Mul());
      frame.keep(frame.zero, masked);
      emit(op.f32x4Add(), op.localSet(acc));
    });
    emitLanes(emit, acc, op.f32Add);
    emit(op.f32x4Splat(), op.localSet(total));
    frame.pass([y, dy, dx], ([p, g, q], masked) => {
      if (log) {
        emit(op.localGet(g), op.v128Load(0), op.localGet(p), op.v128Load(0));
        emit(op.localGet(ceiling), op.f32x4Pmin());
        emitExp(emit, expLocals);
        emit(op.localGet(total), op.f32x4Mul(), op.f32x4Sub());
      } else {
        emit(op.localGet(p), op.v128Load(0), op.localGet(g), op.v128Load(0));
        emit(op.localGet(total), op.f32x4Sub(), op.f32x4Mul());
      }
      emit(op.localSet(value));
      frame.store(q, value, masked);
    });
  });
  return [...plan.declarations(), ...code, ...op.end()];
}

/** The module: the kernels of the header and its `memory` (initially `pages` of 64 KiB, or the imported arena). */
export function softmaxModuleBytes(pages: number, memory: ModuleMemory = 'own'): Uint8Array {
  const functions: ExportedFunction[] = [
    { name: 'maxSumExp', i32Params: 5, body: maxSumExpBody() },
    { name: 'expScaled', i32Params: 7, body: expScaledBody() },
    { name: 'subtractRow', i32Params: 5, body: subtractRowBody() },
    { name: 'softmaxBackward', i32Params: 5, body: backwardBody(false) },
    { name: 'logSoftmaxBackward', i32Params: 5, body: backwardBody(true) },
  ];
  return moduleBytes(functions, pages, memory);
}
