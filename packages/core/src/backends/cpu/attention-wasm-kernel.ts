/**
 * Generates the WebAssembly SIMD row kernels of the fused causal attention, four float32 lanes at
 * a time, on a block of rows `stride` vectors apart (rows padded to whole vectors):
 *
 *   softmaxRows(pPtr, rows, stride, seen, firstVisible, scalePtr)
 *     row i keeps its first v = min(firstVisible + i, seen) scores (v <= 0: none) and becomes
 *     softmax(scale * those), 0 elsewhere (the causal mask and the padding);
 *   softmaxBackwardRows(pPtr, dpPtr, rows, stride, seen, scalePtr)
 *     dp = p * (dp - rowsum(p * dp)) * scale over each row's first `seen` floats, the softmax's
 *     backward pass with the score scale (the padding beyond is left undefined).
 *
 * scale is read from memory at scalePtr; exp is wasm-exp.ts's (e^-87 at most below, 0 after
 * normalising). Constants are set into v128 locals before the loops (V8 rebuilds a v128.const
 * inside a loop every iteration).
 */
import {
  codeBuilder,
  type Emit,
  type ExportedFunction,
  emitLanes,
  moduleBytes,
  op,
  TYPE,
  unsignedLeb,
  vector,
} from './wasm-encoding.js';
import { EXP_LOCALS, emitExp, emitExpConstants } from './wasm-exp.js';

/**
 * The v128 constants both kernels use, in locals from `first`: zero, each lane's own index
 * (0, 1, 2, 3), and 4 in every lane (the lane index's step from one vector to the next).
 */
function rowConstants(first: number) {
  const locals = { zero: first, laneIndex: first + 1, four: first + 2 };
  const emitConstants = (emit: Emit) => {
    const indices = Array.from(new Uint8Array(Int32Array.of(0, 1, 2, 3).buffer));
    emit(op.v128Zero(), op.localSet(locals.zero));
    emit([0xfd, ...unsignedLeb(0x0c), ...indices], op.localSet(locals.laneIndex));
    emit(op.i32x4Const(4), op.localSet(locals.four));
  };
  return { ...locals, emitConstants };
}
const ROW_CONSTANTS = 3;

/** Runs `body` for each of `count` vectors (none when 0), advancing `ptr` (and `lanes` by `four`'s 4 when given). */
function emitVectorLoop(
  emit: Emit,
  [ptr, counter, count]: [number, number, number],
  lanes: { lanes: number; four: number } | null,
  body: () => void,
): void {
  emit(op.block(), op.localGet(count), op.localTee(counter), op.i32Eqz(), op.brIf(0), op.loop());
  body();
  emit(op.localGet(ptr), op.i32Const(16), op.i32Add(), op.localSet(ptr));
  if (lanes) emit(op.localGet(lanes.lanes), op.localGet(lanes.four), op.i32x4Add(), op.localSet(lanes.lanes));
  emit(op.localGet(counter), op.i32Const(1), op.i32Sub(), op.localTee(counter), op.brIf(0), op.end(), op.end());
}

function softmaxBody(): number[] {
  // i32 parameters, then i32, v128 and f32 locals.
  const [pPtr, rows, stride, seen, firstVisible, scalePtr] = [0, 1, 2, 3, 4, 5];
  const [row, ptr, counter, visible, covered, rest] = [6, 7, 8, 9, 10, 11];
  const [lanes, limit, acc, scale, value, negativeInfinity, e] = [12, 13, 14, 15, 16, 17, 18];
  const constants = rowConstants(19);
  const expLocals = 19 + ROW_CONSTANTS;
  const v128Count = expLocals + EXP_LOCALS - 12;
  const total = 12 + v128Count;
  const { code, emit } = codeBuilder();
  // Passes over the `covered` vectors holding the row's visible scores, from its start.
  const loopOver = (withLanes: boolean, body: () => void) => {
    emit(op.localGet(pPtr), op.localSet(ptr));
    if (withLanes) emit(op.localGet(constants.zero), op.localSet(lanes));
    emitVectorLoop(emit, [ptr, counter, covered], withLanes ? { lanes, four: constants.four } : null, body);
  };
  // The lane index within the row goes up by 4 a vector; a lane is kept where it is below `limit`.
  const kept = () => [
    ...op.localGet(lanes),
    ...op.localGet(constants.laneIndex),
    ...op.i32x4Add(),
    ...op.localGet(limit),
    ...op.i32x4LtS(),
  ];
  constants.emitConstants(emit);
  emitExpConstants(emit, expLocals);
  emit(op.f32x4Const(Number.NEGATIVE_INFINITY), op.localSet(negativeInfinity));
  emit(op.localGet(scalePtr), op.v128Load32Splat(0), op.localSet(scale));
  emit(op.loop());
  // visible = min(firstVisible + row, seen)
  emit(op.localGet(firstVisible), op.localGet(row), op.i32Add(), op.localSet(visible));
  emit(op.localGet(seen), op.localGet(visible), op.localGet(visible), op.localGet(seen), op.i32GtS(), op.select());
  emit(op.localTee(visible), op.i32x4Splat(), op.localSet(limit));
  // covered = ceil(max(visible, 0) / 4) vectors; the rest of the row is zeroed.
  emit(op.localGet(visible), op.i32Const(0), op.localGet(visible), op.i32Const(0), op.i32GtS(), op.select());
  emit(op.i32Const(3), op.i32Add(), op.i32Const(2), op.i32ShrU(), op.localSet(covered));
  emit(op.localGet(stride), op.localGet(covered), op.i32Sub(), op.localSet(rest));
  // The kept scores' maximum (-Infinity where none is kept).
  emit(op.localGet(negativeInfinity), op.localSet(acc));
  loopOver(true, () => {
    emit(op.localGet(acc), op.localGet(ptr), op.v128Load(0), op.localGet(negativeInfinity), kept());
    emit(op.v128Bitselect(), op.f32x4Pmax(), op.localSet(acc));
  });
  emitLanes(emit, acc, op.f32Max);
  emit(op.f32x4Splat(), op.localSet(value));
  // e = exp((s - max) scale) where kept, else 0; their sum in acc.
  emit(op.localGet(constants.zero), op.localSet(acc));
  loopOver(true, () => {
    emit(op.localGet(ptr), op.v128Load(0), op.localGet(value), op.f32x4Sub(), op.localGet(scale), op.f32x4Mul());
    emitExp(emit, expLocals);
    emit(op.localGet(constants.zero), kept(), op.v128Bitselect(), op.localSet(e));
    emit(op.localGet(ptr), op.localGet(e), op.v128Store(0));
    emit(op.localGet(acc), op.localGet(e), op.f32x4Add(), op.localSet(acc));
  });
  // Normalise by 1 / sum, or 0 where nothing is kept.
  emitLanes(emit, acc, op.f32Add);
  emit(op.localSet(total), op.f32Const(1), op.localGet(total), op.f32Div());
  emit(
    op.f32Const(0),
    op.localGet(total),
    op.f32Const(0),
    op.f32Gt(),
    op.select(),
    op.f32x4Splat(),
    op.localSet(value),
  );
  loopOver(false, () => {
    emit(op.localGet(ptr), op.localGet(ptr), op.v128Load(0), op.localGet(value), op.f32x4Mul(), op.v128Store(0));
  });
  emitVectorLoop(emit, [ptr, counter, rest], null, () =>
    emit(op.localGet(ptr), op.localGet(constants.zero), op.v128Store(0)),
  );
  emit(op.localGet(pPtr), op.localGet(stride), op.i32Const(16), op.i32Mul(), op.i32Add(), op.localSet(pPtr));
  emit(op.localGet(row), op.i32Const(1), op.i32Add(), op.localTee(row), op.localGet(rows), op.i32Ne(), op.brIf(0));
  emit(op.end(), op.end());
  const locals = vector([
    [...unsignedLeb(6), TYPE.i32],
    [...unsignedLeb(v128Count), TYPE.v128],
    [...unsignedLeb(1), TYPE.f32],
  ]);
  return [...locals, ...code];
}

function softmaxBackwardBody(): number[] {
  const [pPtr, dpPtr, rows, stride, seen, scalePtr] = [0, 1, 2, 3, 4, 5];
  const [p, dp, counter] = [6, 7, 8];
  const [acc, total, scale, lanes, limit] = [9, 10, 11, 12, 13];
  const constants = rowConstants(14);
  const { code, emit } = codeBuilder();
  const loopOver = (body: () => void) => {
    emit(op.localGet(pPtr), op.localSet(p), op.localGet(dpPtr), op.localSet(dp));
    emit(op.localGet(constants.zero), op.localSet(lanes));
    emitVectorLoop(emit, [p, counter, stride], { lanes, four: constants.four }, () => {
      body();
      emit(op.localGet(dp), op.i32Const(16), op.i32Add(), op.localSet(dp));
    });
  };
  constants.emitConstants(emit);
  emit(op.localGet(scalePtr), op.v128Load32Splat(0), op.localSet(scale));
  emit(op.localGet(seen), op.i32x4Splat(), op.localSet(limit));
  emit(op.loop());
  // rowsum(p dp) over the keys only: the padding's dp is whatever an earlier block left there.
  emit(op.localGet(constants.zero), op.localSet(acc));
  loopOver(() => {
    emit(op.localGet(acc), op.localGet(p), op.v128Load(0), op.localGet(dp), op.v128Load(0), op.f32x4Mul());
    emit(op.localGet(constants.zero), op.localGet(lanes), op.localGet(constants.laneIndex), op.i32x4Add());
    emit(op.localGet(limit), op.i32x4LtS(), op.v128Bitselect(), op.f32x4Add(), op.localSet(acc));
  });
  emitLanes(emit, acc, op.f32Add);
  emit(op.f32x4Splat(), op.localSet(total));
  loopOver(() => {
    emit(op.localGet(dp), op.localGet(p), op.v128Load(0), op.localGet(dp), op.v128Load(0), op.localGet(total));
    emit(op.f32x4Sub(), op.f32x4Mul(), op.localGet(scale), op.f32x4Mul(), op.v128Store(0));
  });
  const rowBytes = () => [...op.localGet(stride), ...op.i32Const(16), ...op.i32Mul(), ...op.i32Add()];
  emit(op.localGet(pPtr), rowBytes(), op.localSet(pPtr), op.localGet(dpPtr), rowBytes(), op.localSet(dpPtr));
  emit(op.localGet(rows), op.i32Const(1), op.i32Sub(), op.localTee(rows), op.brIf(0));
  emit(op.end(), op.end());
  const locals = vector([
    [...unsignedLeb(3), TYPE.i32],
    [...unsignedLeb(5 + ROW_CONSTANTS), TYPE.v128],
  ]);
  return [...locals, ...code];
}

/** The module: exports `softmaxRows`, `softmaxBackwardRows` and its `memory` (initially `pages` of 64 KiB). */
export function attentionModuleBytes(pages: number): Uint8Array {
  const functions: ExportedFunction[] = [
    { name: 'softmaxRows', i32Params: 6, body: softmaxBody() },
    { name: 'softmaxBackwardRows', i32Params: 6, body: softmaxBackwardBody() },
  ];
  return moduleBytes(functions, pages);
}
