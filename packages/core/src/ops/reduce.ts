/** Reductions over any set of axes, with keepdim, and their gradients. */
import type { ReduceOp } from '../backend.js';
import { isFloating } from '../dtype.js';
import { withGradEnabled } from '../engine.js';
import { normalizeAxis, sizeOf } from '../shape.js';
import { recordOp, type Tensor } from '../tensor.js';
import { cast, div, eq, mul, sqrt, square, where } from './elementwise.js';
import { expand, reshape } from './shape-ops.js';
import { empty } from './util.js';

function resolveAxes(x: Tensor, axis: number | readonly number[] | undefined, where: string): number[] {
  if (axis === undefined) return [...x.shape.keys()];
  const list = typeof axis === 'number' ? [axis] : [...axis];
  const axes = [...new Set(list.map((a) => normalizeAxis(a, x.rank, where)))];
  return axes.sort((a, b) => a - b);
}

function keptShape(shape: readonly number[], axes: readonly number[]): number[] {
  return shape.map((d, i) => (axes.includes(i) ? 1 : d));
}

function finalShape(shape: readonly number[], axes: readonly number[], keepdim: boolean): number[] {
  return keepdim ? keptShape(shape, axes) : shape.filter((_, i) => !axes.includes(i));
}

/**
 * Runs the backend reduction axis by axis (adjacent axes merged into one pass), producing the
 * keepdim shape.
 */
function reduceKernel(op: ReduceOp, x: Tensor, axes: readonly number[]): Tensor {
  let current = x;
  let shape = [...x.shape];
  // Group adjacent axes: reducing [a, b] together is one [outer, a*b, inner] pass.
  const groups: number[][] = [];
  for (const a of axes) {
    const last = groups[groups.length - 1];
    if (last && last[last.length - 1] === a - 1) last.push(a);
    else groups.push([a]);
  }
  for (const group of groups.reverse()) {
    const first = group[0]!;
    const lastAxis = group[group.length - 1]!;
    const outer = sizeOf(shape.slice(0, first));
    const reduce = sizeOf(shape.slice(first, lastAxis + 1));
    const inner = sizeOf(shape.slice(lastAxis + 1));
    const nextShape = shape.map((d, i) => (i >= first && i <= lastAxis ? 1 : d));
    const out = empty(nextShape, current.dtype, current.backend);
    current.backend.run('reduce', { x: current.storage, out: out.storage }, { op, outer, reduce, inner });
    if (current !== x) current.dispose();
    current = out;
    shape = nextShape;
  }
  return current === x ? x.shareAs(x.shape) : current;
}

export function sum(x: Tensor, axis?: number | readonly number[], keepdim = false): Tensor {
  const axes = resolveAxes(x, axis, 'sum');
  const kept = reduceKernel('sum', x, axes);
  const out = keepdim ? kept : reshapeRaw(kept, finalShape(x.shape, axes, false));
  recordOp('sum', out, [x], [], (g) => {
    const g2 = g.shareAs(keptShape(x.shape, axes));
    const expanded = expand(g2, x.shape);
    g2.dispose();
    return [expanded];
  });
  return out;
}

export function mean(x: Tensor, axis?: number | readonly number[], keepdim = false): Tensor {
  const axes = resolveAxes(x, axis, 'mean');
  const count = axes.reduce((n, a) => n * x.shape[a]!, 1);
  const input = isFloating(x.dtype) ? x : cast(x, 'float32');
  const total = sum(input, axes, keepdim);
  if (input !== x) input.dispose();
  const out = div(total, count);
  total.dispose();
  return out;
}

function extremum(
  op: 'max' | 'min',
  x: Tensor,
  axis: number | readonly number[] | undefined,
  keepdim: boolean,
): Tensor {
  const axes = resolveAxes(x, axis, op);
  const kept = reduceKernel(op, x, axes);
  const out = keepdim ? kept : reshapeRaw(kept, finalShape(x.shape, axes, false));
  // The gradient goes to the extreme elements, split evenly between ties.
  recordOp(op, out, [x], [x, out], (g, [sx, so]) => {
    const so2 = so!.shareAs(keptShape(x.shape, axes));
    const mask = cast(eq(sx!, so2), g.dtype);
    const count = sum(mask, axes, true);
    const g2 = g.shareAs(keptShape(x.shape, axes));
    const share = div(g2, count);
    const grad = mul(mask, share);
    for (const t of [so2, mask, count, g2, share]) t.dispose();
    return [grad];
  });
  return out;
}

export function max(x: Tensor, axis?: number | readonly number[], keepdim = false): Tensor {
  return extremum('max', x, axis, keepdim);
}

export function min(x: Tensor, axis?: number | readonly number[], keepdim = false): Tensor {
  return extremum('min', x, axis, keepdim);
}

/** Index of the first maximum along `axis` (over the flattened tensor when omitted); int32. */
export function argmax(x: Tensor, axis?: number, keepdim = false): Tensor {
  if (axis === undefined) {
    const flat = reshape(x, [x.size]);
    const out = argmax(flat, 0, false);
    flat.dispose();
    return out;
  }
  const a = normalizeAxis(axis, x.rank, 'argmax');
  const outShape = keptShape(x.shape, [a]);
  const out = empty(outShape, 'int32', x.backend);
  x.backend.run(
    'argmax',
    { x: x.storage, out: out.storage },
    {
      outer: sizeOf(x.shape.slice(0, a)),
      reduce: x.shape[a]!,
      inner: sizeOf(x.shape.slice(a + 1)),
    },
  );
  return keepdim ? out : reshapeRaw(out, finalShape(x.shape, [a], false));
}

/** Frobenius / L2 norm over `axis` (all elements when omitted). */
export function norm(x: Tensor, p: 'fro' | 2 = 'fro', axis?: number | readonly number[], keepdim = false): Tensor {
  if (p !== 'fro' && p !== 2) throw new RangeError(`norm: only the 2-norm ('fro' or 2) is supported, got ${String(p)}`);
  const axes = resolveAxes(x, axis, 'norm');
  const out = withGradEnabled(false, () => {
    const sq = square(x);
    const total = sum(sq, axes, keepdim);
    const root = sqrt(total);
    sq.dispose();
    total.dispose();
    return root;
  });
  // d||x|| / dx = x / ||x||, and 0 where ||x|| = 0 (the subgradient torch uses; sqrt' would give NaN).
  recordOp('norm', out, [x], [x, out], (g, [sx, so]) => {
    const kept = keptShape(x.shape, axes);
    const n = so!.shareAs(kept);
    const g2 = g.shareAs(kept);
    const zero = eq(n, 0);
    const safe = where(zero, 1, n); // x is all zeros where n is, so x / 1 is the 0 we want
    const scale = div(g2, safe);
    const grad = mul(sx!, scale);
    for (const t of [n, g2, zero, safe, scale]) t.dispose();
    return [grad];
  });
  return out;
}

/** Reshape without recording (the caller records the whole op). */
function reshapeRaw(t: Tensor, shape: number[]): Tensor {
  const out = t.shareAs(shape);
  t.dispose();
  return out;
}
