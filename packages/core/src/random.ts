/**
 * Philox 4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC 2011), the
 * counter-based generator every backend implements, so one seed gives the same numbers everywhere.
 *
 * Element i of a call with offset o reads 32-bit lane i % 4 of block o + floor(i / 4), whose
 * 128-bit counter is [low32(o + i/4), high32(o + i/4), 0, 0] and whose key is the 64-bit seed.
 * - uniform: u = (lane >>> 8) * 2^-24 in [0, 1), scaled to [a, b).
 * - normal: Box-Muller on lanes (0, 1) and (2, 3) of a block, with u = ((lane >>> 8) + 0.5) * 2^-24
 *   in (0, 1): z0 = sqrt(-2 ln u0) cos(2 pi u1), z1 = sqrt(-2 ln u0) sin(2 pi u1).
 */
const M0 = 0xd2511f53;
const M1 = 0xcd9e8d57;
const W0 = 0x9e3779b9;
const W1 = 0xbb67ae85;

/** High 32 bits of the 64-bit product of two unsigned 32-bit integers. */
function mulhi32(a: number, b: number): number {
  const aLo = a & 0xffff;
  const aHi = a >>> 16;
  const bLo = b & 0xffff;
  const bHi = b >>> 16;
  const lolo = aLo * bLo;
  const hilo = aHi * bLo;
  const lohi = aLo * bHi;
  const hihi = aHi * bHi;
  const cross = (lolo >>> 16) + (hilo & 0xffff) + (lohi & 0xffff);
  return (hihi + (hilo >>> 16) + (lohi >>> 16) + Math.floor(cross / 65536)) >>> 0;
}

/** One Philox 4x32-10 block; writes four unsigned 32-bit words into `out`. */
export function philox4x32(counter: readonly number[], key: readonly [number, number], out: Uint32Array): void {
  let c0 = counter[0]! >>> 0;
  let c1 = counter[1]! >>> 0;
  let c2 = counter[2]! >>> 0;
  let c3 = counter[3]! >>> 0;
  let k0 = key[0] >>> 0;
  let k1 = key[1] >>> 0;
  for (let round = 0; round < 10; round++) {
    const hi0 = mulhi32(M0, c0);
    const lo0 = Math.imul(M0, c0) >>> 0;
    const hi1 = mulhi32(M1, c2);
    const lo1 = Math.imul(M1, c2) >>> 0;
    c0 = (hi1 ^ c1 ^ k0) >>> 0;
    c1 = lo1;
    c2 = (hi0 ^ c3 ^ k1) >>> 0;
    c3 = lo0;
    k0 = (k0 + W0) >>> 0;
    k1 = (k1 + W1) >>> 0;
  }
  out[0] = c0;
  out[1] = c1;
  out[2] = c2;
  out[3] = c3;
}

const TWO_POW_M24 = 2 ** -24;

/**
 * Fills `out` with the reference Philox stream (float64 arithmetic, rounded by the caller's
 * array type). Backends that compute on the host call this directly.
 */
export function philoxFill(
  out: { length: number; [i: number]: number },
  distribution: 'uniform' | 'normal',
  seed: readonly [number, number],
  offset: number,
  a: number,
  b: number,
): void {
  const words = new Uint32Array(4);
  const counter = [0, 0, 0, 0];
  const n = out.length;
  for (let block = 0; block * 4 < n; block++) {
    const c = offset + block;
    counter[0] = c >>> 0;
    counter[1] = Math.floor(c / 4294967296) >>> 0;
    philox4x32(counter, seed, words);
    const base = block * 4;
    if (distribution === 'uniform') {
      for (let lane = 0; lane < 4 && base + lane < n; lane++) {
        out[base + lane] = a + (b - a) * ((words[lane]! >>> 8) * TWO_POW_M24);
      }
    } else {
      for (let pair = 0; pair < 2; pair++) {
        const i = base + pair * 2;
        if (i >= n) break;
        const u0 = ((words[pair * 2]! >>> 8) + 0.5) * TWO_POW_M24;
        const u1 = ((words[pair * 2 + 1]! >>> 8) + 0.5) * TWO_POW_M24;
        const r = Math.sqrt(-2 * Math.log(u0));
        out[i] = a + b * r * Math.cos(2 * Math.PI * u1);
        if (i + 1 < n) out[i + 1] = a + b * r * Math.sin(2 * Math.PI * u1);
      }
    }
  }
}

/** Number of Philox blocks a call filling `size` elements consumes. */
export function philoxBlocks(size: number): number {
  return Math.ceil(size / 4);
}

/** Splits a seed (any safe integer or bigint) into the two 32-bit key words. */
export function seedWords(seed: number | bigint): [number, number] {
  const big = BigInt.asUintN(64, BigInt(seed));
  return [Number(big & 0xffffffffn), Number(big >> 32n)];
}
