/**
 * Generates the WebAssembly SIMD inner kernel of the float32 GEMM ("GEBP" in Goto's terms):
 *
 *   gebp(aPtr, bPtr, cPtr, mPanels, nPanels, kc, ldcBytes)
 *
 * multiplies packed A (mPanels panels of MR rows x kc, each stored [p][MR]) by packed B (nPanels
 * panels of kc x NR, each stored [p][NR]) and adds the result into the row-major float32 block at
 * cPtr (row stride ldcBytes). The micro-kernel keeps an MR x NR tile of C in MR * NR / 4 v128
 * accumulators: per step of k it loads NR / 4 vectors of B, splats each of the MR values of A,
 * and does MR * NR / 4 vector multiply-adds. All counts must be >= 1 (the caller guarantees it).
 */
import { codeBuilder, moduleBytes, op, TYPE, unsignedLeb, vector } from './wasm-encoding.js';

export interface MicroTile {
  /** Rows of C per micro-tile. */
  mr: number;
  /** Columns of C per micro-tile; a multiple of 4 (one v128 holds four floats). */
  nr: number;
}

// Parameter and local indices.
const A_PTR = 0;
const B_PTR = 1;
const C_PTR = 2;
const M_PANELS = 3;
const N_PANELS = 4;
const KC = 5;
const LDC = 6;
const JR = 7;
const IR = 8;
const AP = 9;
const BP = 10;
const CP = 11;
const K = 12;
const B_PANEL = 13;
const C_ROW = 14;
const C_COLUMN = 15;
const I32_LOCALS = 9;
const FIRST_V128 = 16;

function body({ mr, nr }: MicroTile): number[] {
  const vectors = nr / 4;
  const acc = (i: number, v: number) => FIRST_V128 + i * vectors + v;
  const bVector = (v: number) => FIRST_V128 + mr * vectors + v;
  const aSplat = FIRST_V128 + mr * vectors + vectors;
  const { code, emit } = codeBuilder();
  const decrementAndLoop = (counter: number) =>
    emit(op.localGet(counter), op.i32Const(1), op.i32Sub(), op.localTee(counter), op.brIf(0));

  emit(op.localGet(C_PTR), op.localSet(C_COLUMN), op.localGet(B_PTR), op.localSet(B_PANEL));
  emit(op.localGet(N_PANELS), op.localSet(JR));
  emit(op.loop()); // over panels of B (columns of C)
  emit(op.localGet(A_PTR), op.localSet(AP), op.localGet(C_COLUMN), op.localSet(CP));
  emit(op.localGet(M_PANELS), op.localSet(IR));
  emit(op.loop()); // over panels of A (rows of C)
  for (let i = 0; i < mr; i++) for (let v = 0; v < vectors; v++) emit(op.v128Zero(), op.localSet(acc(i, v)));
  emit(op.localGet(B_PANEL), op.localSet(BP), op.localGet(KC), op.localSet(K));
  emit(op.loop()); // over k: one rank-1 update of the tile
  for (let v = 0; v < vectors; v++) emit(op.localGet(BP), op.v128Load(v * 16), op.localSet(bVector(v)));
  for (let i = 0; i < mr; i++) {
    emit(op.localGet(AP), op.v128Load32Splat(i * 4), op.localSet(aSplat));
    for (let v = 0; v < vectors; v++) {
      emit(op.localGet(acc(i, v)), op.localGet(aSplat), op.localGet(bVector(v)), op.f32x4Mul(), op.f32x4Add());
      emit(op.localSet(acc(i, v)));
    }
  }
  // Packed panels are contiguous, so after the k loop AP already points at the next A panel.
  emit(op.localGet(AP), op.i32Const(mr * 4), op.i32Add(), op.localSet(AP));
  emit(op.localGet(BP), op.i32Const(nr * 4), op.i32Add(), op.localSet(BP));
  decrementAndLoop(K);
  emit(op.end());
  // C tile += accumulators, row by row.
  emit(op.localGet(CP), op.localSet(C_ROW));
  for (let i = 0; i < mr; i++) {
    for (let v = 0; v < vectors; v++) {
      emit(op.localGet(C_ROW), op.localGet(C_ROW), op.v128Load(v * 16), op.localGet(acc(i, v)), op.f32x4Add());
      emit(op.v128Store(v * 16));
    }
    emit(op.localGet(C_ROW), op.localGet(LDC), op.i32Add(), op.localSet(C_ROW));
  }
  emit(op.localGet(CP), op.localGet(LDC), op.i32Const(mr), op.i32Mul(), op.i32Add(), op.localSet(CP));
  decrementAndLoop(IR);
  emit(op.end());
  // After the last A panel, BP points at the next B panel.
  emit(op.localGet(BP), op.localSet(B_PANEL));
  emit(op.localGet(C_COLUMN), op.i32Const(nr * 4), op.i32Add(), op.localSet(C_COLUMN));
  decrementAndLoop(JR);
  emit(op.end());
  emit(op.end()); // function

  const v128Locals = mr * vectors + vectors + 1;
  const locals = vector([
    [...unsignedLeb(I32_LOCALS), TYPE.i32],
    [...unsignedLeb(v128Locals), TYPE.v128],
  ]);
  return [...locals, ...code];
}

/** The complete module: exports `gebp` and its `memory` (initially `pages` of 64 KiB). */
export function gebpModuleBytes(tile: MicroTile, pages: number): Uint8Array {
  if (tile.nr % 4 !== 0 || tile.nr < 4 || tile.mr < 1)
    throw new RangeError(`gebp: bad micro-tile ${tile.mr} x ${tile.nr}`);
  return moduleBytes([{ name: 'gebp', i32Params: 7, body: body(tile) }], pages);
}
