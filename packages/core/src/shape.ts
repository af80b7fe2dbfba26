/** Shape arithmetic shared by ops and backends. Shapes are arrays of non-negative integers. */
export type Shape = readonly number[];

export function sizeOf(shape: Shape): number {
  let n = 1;
  for (let i = 0; i < shape.length; i++) n *= shape[i] as number;
  return n;
}

export function contiguousStrides(shape: Shape): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i]!;
  }
  return strides;
}

/**
 * Drops size-1 dimensions and merges neighbouring dimensions that every operand walks as one (the
 * outer stride is the inner stride times the inner extent), so a strided loop or kernel runs over
 * as few dimensions as possible. `stridesList` holds each operand's strides over `shape`; the result
 * gives the merged shape and each operand's merged strides, in the same order.
 */
export function collapseDims(
  shape: Shape,
  stridesList: readonly (readonly number[])[],
): { shape: number[]; strides: number[][] } {
  const outShape: number[] = [];
  const outStrides: number[][] = stridesList.map(() => []);
  for (let d = 0; d < shape.length; d++) {
    const extent = shape[d] as number;
    if (extent === 1) continue;
    const last = outShape.length - 1;
    const mergeable =
      last >= 0 && stridesList.every((s, k) => (outStrides[k] as number[])[last] === (s[d] as number) * extent);
    if (mergeable) {
      outShape[last] = (outShape[last] as number) * extent;
      stridesList.forEach((s, k) => {
        (outStrides[k] as number[])[last] = s[d] as number;
      });
    } else {
      outShape.push(extent);
      stridesList.forEach((s, k) => {
        (outStrides[k] as number[]).push(s[d] as number);
      });
    }
  }
  return { shape: outShape, strides: outStrides };
}

export function formatShape(shape: Shape): string {
  return `[${shape.join(', ')}]`;
}

export function shapesEqual(a: Shape, b: Shape): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function assertValidShape(shape: unknown, where: string): number[] {
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
    throw new TypeError(`${where}: a shape must be an array of non-negative integers, got ${JSON.stringify(shape)}`);
  }
  return shape as number[];
}

/** Resolves a possibly negative axis against `rank`. */
export function normalizeAxis(axis: number, rank: number, where: string): number {
  if (!Number.isInteger(axis) || axis < -rank || axis >= Math.max(rank, 1)) {
    throw new RangeError(`${where}: axis ${axis} is out of range for a tensor of rank ${rank}`);
  }
  return axis < 0 ? axis + rank : axis;
}

/** NumPy broadcasting of two shapes; throws naming both when they are incompatible. */
export function broadcastShapes(a: Shape, b: Shape, where: string): number[] {
  const rank = Math.max(a.length, b.length);
  const out = new Array<number>(rank);
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new RangeError(`${where}: shapes ${formatShape(a)} and ${formatShape(b)} cannot be broadcast together`);
    }
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/** Strides to read a contiguous tensor of `shape` as if it had `target` shape (0 on broadcast axes). */
export function broadcastStrides(shape: Shape, target: Shape): number[] {
  const own = contiguousStrides(shape);
  const out = new Array<number>(target.length).fill(0);
  const lead = target.length - shape.length;
  for (let i = 0; i < shape.length; i++) out[lead + i] = shape[i] === 1 ? 0 : own[i]!;
  return out;
}

/** Resolves a reshape target that may contain one -1. */
export function inferReshape(size: number, target: Shape, from: Shape): number[] {
  const out = [...target];
  const unknown = out.indexOf(-1);
  if (out.filter((d) => d === -1).length > 1) {
    throw new RangeError(`reshape: only one dimension may be -1, got ${formatShape(target)}`);
  }
  if (unknown >= 0) {
    const known = out.reduce((p, d, i) => (i === unknown ? p : p * d), 1);
    if (known === 0 || size % known !== 0) {
      throw new RangeError(
        `reshape: cannot reshape ${formatShape(from)} (${size} elements) into ${formatShape(target)}`,
      );
    }
    out[unknown] = size / known;
  }
  assertValidShape(out, 'reshape');
  if (sizeOf(out) !== size) {
    throw new RangeError(`reshape: cannot reshape ${formatShape(from)} (${size} elements) into ${formatShape(target)}`);
  }
  return out;
}
