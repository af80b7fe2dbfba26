/** Shape ops. Reshape shares storage; transpose of the last two axes is lazy; the rest copy. */
import type { View } from '../backend.js';
import {
  broadcastShapes,
  contiguousStrides,
  formatShape,
  inferReshape,
  normalizeAxis,
  type Shape,
  shapesEqual,
} from '../shape.js';
import { recordOp, Tensor } from '../tensor.js';
import { zeros } from './creation.js';
import { sum } from './reduce.js';
import { backendOf, empty, uninitialized } from './util.js';

function contiguousView(shape: Shape, offset = 0): View {
  return { shape, strides: contiguousStrides(shape), offset };
}

export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  const target = inferReshape(x.size, shape, x.shape);
  const out = x.shareAs(target);
  recordOp('reshape', out, [x], [], (g) => [g.shareAs(x.shape)]);
  return out;
}

export function unsqueeze(x: Tensor, axis: number): Tensor {
  const a = normalizeAxis(axis, x.rank + 1, 'unsqueeze');
  const shape = [...x.shape];
  shape.splice(a, 0, 1);
  return reshape(x, shape);
}

export function squeeze(x: Tensor, axis?: number): Tensor {
  if (axis === undefined)
    return reshape(
      x,
      x.shape.filter((d) => d !== 1),
    );
  const a = normalizeAxis(axis, x.rank, 'squeeze');
  if (x.shape[a] !== 1) return reshape(x, x.shape);
  return reshape(
    x,
    x.shape.filter((_, i) => i !== a),
  );
}

export function permute(x: Tensor, axes: readonly number[]): Tensor {
  if (axes.length !== x.rank) {
    throw new RangeError(
      `permute: expected ${x.rank} axes for shape ${formatShape(x.shape)}, got [${axes.join(', ')}]`,
    );
  }
  const order = axes.map((a) => normalizeAxis(a, x.rank, 'permute'));
  if (new Set(order).size !== order.length) throw new RangeError(`permute: axes repeat in [${axes.join(', ')}]`);
  if (order.every((a, i) => a === i)) return reshape(x, x.shape);
  const r = x.rank;
  if (r >= 2 && order.slice(0, r - 2).every((a, i) => a === i) && order[r - 2] === r - 1 && order[r - 1] === r - 2) {
    return transposeLastTwo(x);
  }
  const shape = order.map((a) => x.shape[a]!);
  const strides = contiguousStrides(x.shape);
  const out = uninitialized(shape, x.dtype, x.backend);
  x.backend.run(
    'copy',
    { src: x.storage, dst: out.storage },
    { srcView: { shape, strides: order.map((a) => strides[a]!), offset: 0 }, dstView: contiguousView(shape) },
  );
  const inverse = new Array<number>(r);
  order.forEach((a, i) => {
    inverse[a] = i;
  });
  recordOp('permute', out, [x], [], (g) => [permute(g, inverse)]);
  return out;
}

/** Swaps the last two axes without copying until something other than matmul reads it. */
function transposeLastTwo(x: Tensor): Tensor {
  const source = x.transposeOf;
  // Transposing a lazy transpose gives back the original storage.
  const out = source ? source.shareAs(source.shape) : Tensor.lazyTranspose(x);
  recordOp('transpose', out, [x], [], (g) => [transposeLastTwo(g)]);
  return out;
}

export function transpose(x: Tensor, dim0 = -2, dim1 = -1): Tensor {
  if (x.rank < 2) throw new RangeError(`transpose: expected a tensor of rank >= 2, got shape ${formatShape(x.shape)}`);
  const a = normalizeAxis(dim0, x.rank, 'transpose');
  const b = normalizeAxis(dim1, x.rank, 'transpose');
  const order = [...x.shape.keys()];
  [order[a], order[b]] = [order[b]!, order[a]!];
  return permute(x, order);
}

/** The elements [start, start + length) along `axis` (a copy). */
export function narrow(x: Tensor, axis: number, start: number, length: number): Tensor {
  const a = normalizeAxis(axis, x.rank, 'narrow');
  const dim = x.shape[a]!;
  if (!Number.isInteger(start) || !Number.isInteger(length) || start < 0 || length < 0 || start + length > dim) {
    throw new RangeError(`narrow: range [${start}, ${start + length}) is out of bounds for axis ${a} of size ${dim}`);
  }
  const shape = [...x.shape];
  shape[a] = length;
  const strides = contiguousStrides(x.shape);
  const out = uninitialized(shape, x.dtype, x.backend);
  x.backend.run(
    'copy',
    { src: x.storage, dst: out.storage },
    { srcView: { shape, strides, offset: start * strides[a]! }, dstView: contiguousView(shape) },
  );
  recordOp('narrow', out, [x], [], (g) => {
    const grad = zeros(x.shape, { dtype: g.dtype, backend: g.backend });
    g.backend.run(
      'copy',
      { src: g.storage, dst: grad.storage },
      { srcView: contiguousView(shape), dstView: { shape, strides, offset: start * strides[a]! } },
    );
    return [grad];
  });
  return out;
}

/** Python-style slice along one axis: start inclusive, end exclusive, negatives count from the end. */
export function slice(x: Tensor, axis: number, start: number, end?: number): Tensor {
  const a = normalizeAxis(axis, x.rank, 'slice');
  const dim = x.shape[a]!;
  const clamp = (i: number) => Math.min(Math.max(i < 0 ? i + dim : i, 0), dim);
  const s = clamp(start);
  const e = clamp(end ?? dim);
  return narrow(x, a, s, Math.max(0, e - s));
}

/** Concatenates along `axis`; shapes must agree elsewhere. */
export function cat(tensors: readonly Tensor[], axis = 0): Tensor {
  if (tensors.length === 0) throw new RangeError('cat: expected at least one tensor');
  const first = tensors[0]!;
  const backend = backendOf('cat', ...tensors);
  const a = normalizeAxis(axis, first.rank, 'cat');
  for (const t of tensors) {
    if (t.rank !== first.rank || t.shape.some((d, i) => i !== a && d !== first.shape[i])) {
      throw new RangeError(
        `cat: shapes ${formatShape(first.shape)} and ${formatShape(t.shape)} differ outside axis ${a}`,
      );
    }
    if (t.dtype !== first.dtype) throw new TypeError(`cat: dtypes differ: ${first.dtype} and ${t.dtype}`);
  }
  const shape = [...first.shape];
  shape[a] = tensors.reduce((n, t) => n + t.shape[a]!, 0);
  const out = empty(shape, first.dtype, backend);
  const outStrides = contiguousStrides(shape);
  const offsets: number[] = [];
  let offset = 0;
  for (const t of tensors) {
    offsets.push(offset);
    backend.run(
      'copy',
      { src: t.storage, dst: out.storage },
      {
        srcView: contiguousView(t.shape),
        dstView: {
          shape: t.shape,
          strides: outStrides,
          offset: offset * outStrides[a]!,
        },
      },
    );
    offset += t.shape[a]!;
  }
  recordOp('cat', out, tensors, [], (g) =>
    tensors.map((t, i) => (t.requiresGrad ? narrow(g, a, offsets[i]!, t.shape[a]!) : null)),
  );
  return out;
}

/** Joins tensors of equal shape along a new axis. */
export function stack(tensors: readonly Tensor[], axis = 0): Tensor {
  if (tensors.length === 0) throw new RangeError('stack: expected at least one tensor');
  const a = normalizeAxis(axis, tensors[0]!.rank + 1, 'stack');
  for (const t of tensors) {
    if (!shapesEqual(t.shape, tensors[0]!.shape)) {
      throw new RangeError(`stack: shapes differ: ${formatShape(tensors[0]!.shape)} and ${formatShape(t.shape)}`);
    }
  }
  const expanded = tensors.map((t) => unsqueeze(t, a));
  const out = cat(expanded, a);
  for (const t of expanded) t.dispose();
  return out;
}

/** Broadcasts to `shape` (size-1 axes repeat, new leading axes are added), as a copy. */
export function expand(x: Tensor, shape: readonly number[]): Tensor {
  const lead = shape.length - x.rank;
  if (lead < 0) {
    throw new RangeError(
      `expand: cannot expand shape ${formatShape(x.shape)} to fewer dimensions ${formatShape(shape)}`,
    );
  }
  const target = shape.map((d, i) => {
    if (d !== -1) return d;
    // -1 keeps an existing size; a new leading axis has none to keep (as torch.expand refuses).
    if (i < lead)
      throw new RangeError(`expand: -1 is not allowed for the new leading axis ${i} of ${formatShape(shape)}`);
    return x.shape[i - lead]!;
  });
  const full = broadcastShapes(x.shape, target, 'expand');
  if (!shapesEqual(full, target)) {
    throw new RangeError(`expand: cannot expand shape ${formatShape(x.shape)} to ${formatShape(shape)}`);
  }
  if (shapesEqual(x.shape, target)) return reshape(x, target);
  const own = contiguousStrides(x.shape);
  const strides = target.map((_, i) => (i < lead || x.shape[i - lead] === 1 ? 0 : own[i - lead]!));
  const out = uninitialized(target, x.dtype, x.backend);
  x.backend.run(
    'copy',
    { src: x.storage, dst: out.storage },
    { srcView: { shape: target, strides, offset: 0 }, dstView: contiguousView(target) },
  );
  recordOp('expand', out, [x], [], (g) => {
    const axes: number[] = [];
    for (let i = 0; i < target.length; i++) if (i < lead || (x.shape[i - lead] === 1 && target[i] !== 1)) axes.push(i);
    const summed = sum(g, axes, true);
    const grad = summed.shareAs(x.shape);
    summed.dispose();
    return [grad];
  });
  return out;
}
