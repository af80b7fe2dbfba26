/**
 * Runs the RoPE kernel of rope-wasm-kernel.ts on float32 arrays: in place where they all live in
 * the storages' arena (wasm-arena.ts), once per sequence; else a chunk of whole tokens (all
 * heads of a position) at a time through the wasm memory, the cos and sin tables copied in once
 * per call. A chunk may span sequences; the kernel is called once per run of positions.
 */
import type { RopeParams } from '../../backend.js';
import { ROPE_CONSTANTS, ropeModuleBytes } from './rope-wasm-kernel.js';
import { inArena } from './simd-chunks.js';
import { arenaKernelLoader, kernelLoader, regionOffsets, reserveFloats } from './wasm-instance.js';

/** Floats of x per chunk (at least one token): with y, a few hundred KiB, which stays in L2. */
const CHUNK = 32768;

type Rope = (
  x: number,
  cos: number,
  sin: number,
  y: number,
  tokens: number,
  heads: number,
  halfVectors: number,
) => void;

const bind = (exports: Record<string, unknown>) => ({ rope: exports.rope as Rope });
const loadKernel = kernelLoader(() => ropeModuleBytes(1), bind);
const loadArenaKernel = arenaKernelLoader(() => ropeModuleBytes(1, 'imported'), bind);

/** y = rope(x); false (doing nothing) where half a head is not whole vectors or SIMD is unavailable. */
export function ropeSimd(
  x: Float32Array,
  cos: Float32Array,
  sin: Float32Array,
  y: Float32Array,
  { batch, seq, heads, headDim, inverse }: RopeParams,
): boolean {
  const half = headDim / 2;
  // Empty shapes are left to the JS loop (the kernel's loops run at least once).
  if (half === 0 || half % 4 !== 0 || seq === 0 || heads === 0) return false;
  const token = heads * headDim;
  const tokens = batch * seq;
  const table = seq * half;
  const n = tokens * token;
  const arena = loadArenaKernel();
  const arrays = [x.subarray(0, n), cos.subarray(0, table), sin.subarray(0, table), y.subarray(0, n)];
  if (tokens > 0 && arena && inArena(arena.arena.buffer, arrays, [3], false)) {
    arena.arena.heap[0] = inverse ? -1 : 1;
    for (let first = 0; first < tokens; first += seq) {
      const at = first * token * 4;
      arena.rope(x.byteOffset + at, cos.byteOffset, sin.byteOffset, y.byteOffset + at, seq, heads, half / 4);
    }
    return true;
  }
  const simd = loadKernel();
  if (!simd) return false;
  const chunk = Math.max(1, Math.min(tokens, Math.floor(CHUNK / token)));
  const { offsets, end } = regionOffsets(ROPE_CONSTANTS, [table, table, chunk * token, chunk * token]);
  const [COS, SIN, X, Y] = offsets as [number, number, number, number];
  const heap = reserveFloats(simd, end);
  heap[0] = inverse ? -1 : 1;
  heap.set(cos.subarray(0, table), COS);
  heap.set(sin.subarray(0, table), SIN);
  for (let first = 0; first < tokens; first += chunk) {
    const n = Math.min(chunk, tokens - first);
    heap.set(x.subarray(first * token, (first + n) * token), X);
    for (let i = first; i < first + n; ) {
      const position = i % seq;
      const run = Math.min(seq - position, first + n - i);
      const at = (i - first) * token * 4;
      const row = position * half * 4;
      simd.rope(X * 4 + at, COS * 4 + row, SIN * 4 + row, Y * 4 + at, run, heads, half / 4);
      i += run;
    }
    y.set(heap.subarray(Y, Y + n * token), first * token);
  }
  return true;
}
