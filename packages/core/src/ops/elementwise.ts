/** Elementwise ops with NumPy broadcasting, and their gradients. */
import type { BinaryOp, UnaryOp } from '../backend.js';
import { type DType, isFloating, promoteTypes } from '../dtype.js';
import { isGradEnabled } from '../engine.js';
import { broadcastShapes, broadcastStrides, contiguousStrides } from '../shape.js';
import { recordOp, type Tensor } from '../tensor.js';
import { full } from './creation.js';
import { sum } from './reduce.js';
import { backendOf, empty, reduceToShape, uninitialized } from './util.js';

const COMPARISONS = new Set<BinaryOp>(['eq', 'ne', 'lt', 'le', 'gt', 'ge']);

/** A scalar operand becomes a 0-d tensor of the other operand's dtype (a float for integer tensors). */
function asTensor(x: Tensor | number, like: Tensor): Tensor {
  if (typeof x !== 'number') return x;
  const dtype: DType = isFloating(like.dtype) || Number.isInteger(x) ? like.dtype : 'float32';
  return full([], x, { dtype, backend: like.backend });
}

/** Casts an input that a kernel computing in `dtype` cannot read directly (integers into floats, anything into f64). */
function toComputeType(t: Tensor, dtype: DType): Tensor {
  if (t.dtype === dtype) return t;
  if (isFloating(dtype) && isFloating(t.dtype) && dtype !== 'float64') return t;
  return cast(t, dtype);
}

function reduceGrad(g: Tensor, shape: readonly number[]): Tensor {
  return reduceToShape(g, shape, (t, axes, keep) => sum(t, axes, keep));
}

/**
 * reduceGrad for a gradient the caller owns: the unreduced tensor is disposed when a reduced one
 * replaces it (rules such as add's return `g.retain()`, which no tidy scope tracks).
 */
function reduceGradOwned(g: Tensor, shape: readonly number[]): Tensor {
  const out = reduceGrad(g, shape);
  if (out !== g) g.dispose();
  return out;
}

/** The gradient of an input, reduced to its shape, or null (disposing `g`) when none is needed. */
function keepGrad(g: Tensor | null, need: boolean, shape: readonly number[]): Tensor | null {
  if (g && need) return reduceGradOwned(g, shape);
  g?.dispose();
  return null;
}

function binaryKernel(op: BinaryOp, a: Tensor, b: Tensor): Tensor {
  const backend = backendOf(op, a, b);
  const shape = broadcastShapes(a.shape, b.shape, op);
  let dtype = promoteTypes(a.dtype, b.dtype);
  if (op === 'div' && !isFloating(dtype)) dtype = 'float32';
  if (op === 'pow' && !isFloating(dtype)) dtype = 'float32';
  const ca = toComputeType(a, dtype);
  const cb = toComputeType(b, dtype);
  const out = uninitialized(shape, COMPARISONS.has(op) ? 'uint8' : dtype, backend);
  backend.run(
    'binary',
    { a: ca.storage, b: cb.storage, out: out.storage },
    {
      op,
      shape,
      aStrides: broadcastStrides(ca.shape, shape),
      bStrides: broadcastStrides(cb.shape, shape),
    },
  );
  if (ca !== a) ca.dispose();
  if (cb !== b) cb.dispose();
  return out;
}

/**
 * What a binary op's backward reads, given which inputs need a gradient: [a, b, out]. Saving only
 * that matters: x * 0.5 must not keep x alive until backward, nor a + b either input.
 */
type SavePlan = (needA: boolean, needB: boolean) => readonly [boolean, boolean, boolean];

const SAVE_NOTHING: SavePlan = () => [false, false, false];
const SAVE_INPUTS: SavePlan = () => [true, true, false];

type BinaryBackward = (
  g: Tensor,
  a: Tensor | undefined,
  b: Tensor | undefined,
  out: Tensor | undefined,
  needA: boolean,
  needB: boolean,
) => [Tensor | null, Tensor | null];

function binary(
  op: BinaryOp,
  x: Tensor | number,
  y: Tensor | number,
  backward?: BinaryBackward,
  plan: SavePlan = SAVE_INPUTS,
): Tensor {
  if (typeof x === 'number' && typeof y === 'number')
    throw new TypeError(`${op}: at least one operand must be a tensor`);
  const a = asTensor(x, typeof y === 'number' ? (x as Tensor) : y);
  const b = asTensor(y, a);
  const out = binaryKernel(op, a, b);
  if (backward && isGradEnabled() && (a.requiresGrad || b.requiresGrad)) {
    const needA = a.requiresGrad;
    const needB = b.requiresGrad;
    const saved: Tensor[] = [];
    const slot = plan(needA, needB).map((keepIt, i) => {
      if (!keepIt) return -1;
      saved.push([a, b, out][i]!);
      return saved.length - 1;
    });
    const pick = (s: readonly Tensor[], i: number) => (slot[i]! >= 0 ? s[slot[i]!] : undefined);
    recordOp(op, out, [a, b], saved, (g, s) => {
      const [ga, gb] = backward(g, pick(s, 0), pick(s, 1), pick(s, 2), needA, needB);
      return [keepGrad(ga, needA, a.shape), keepGrad(gb, needB, b.shape)];
    });
  }
  if (a !== x) a.dispose();
  if (b !== y) b.dispose();
  return out;
}

export function add(a: Tensor | number, b: Tensor | number): Tensor {
  return binary(
    'add',
    a,
    b,
    (g, _a, _b, _o, needA, needB) => [needA ? g.retain() : null, needB ? g.retain() : null],
    SAVE_NOTHING,
  );
}

export function sub(a: Tensor | number, b: Tensor | number): Tensor {
  return binary(
    'sub',
    a,
    b,
    (g, _a, _b, _o, needA, needB) => [needA ? g.retain() : null, needB ? neg(g) : null],
    SAVE_NOTHING,
  );
}

export function mul(a: Tensor | number, b: Tensor | number): Tensor {
  return binary(
    'mul',
    a,
    b,
    (g, sa, sb, _o, needA, needB) => [needA ? mul(g, sb!) : null, needB ? mul(g, sa!) : null],
    (needA, needB) => [needB, needA, false],
  );
}

export function div(a: Tensor | number, b: Tensor | number): Tensor {
  return binary(
    'div',
    a,
    b,
    (g, sa, sb, _o, needA, needB) => {
      // d/da a/b = 1/b; d/db a/b = -a/b^2 = -(g/b) * (a/b).
      const gOverB = div(g, sb!);
      const gb = needB ? neg(mul(gOverB, div(sa!, sb!))) : null;
      if (needA) return [gOverB, gb];
      gOverB.dispose();
      return [null, gb];
    },
    (_needA, needB) => [needB, true, false],
  );
}

export function pow(a: Tensor | number, b: Tensor | number): Tensor {
  return binary(
    'pow',
    a,
    b,
    (g, sa, sb, out, needA, needB) => {
      const ga = needA ? mul(g, mul(sb!, pow(sa!, sub(sb!, 1)))) : null;
      const gb = needB ? mul(g, mul(out!, log(sa!))) : null;
      return [ga, gb];
    },
    (needA, needB) => [true, needA, needB],
  );
}

/** Gradient of max/min: to the winner, split evenly on ties (as torch.maximum does). */
function selectGrad(g: Tensor, sa: Tensor, sb: Tensor, winsA: 'gt' | 'lt'): [Tensor, Tensor] {
  const aWins = binaryKernel(winsA, sa, sb);
  const tie = binaryKernel('eq', sa, sb);
  const weightA = add(cast(aWins, g.dtype), mul(cast(tie, g.dtype), 0.5));
  const ga = mul(g, weightA);
  const gb = sub(g, ga);
  aWins.dispose();
  tie.dispose();
  weightA.dispose();
  return [ga, gb];
}

export function maximum(a: Tensor | number, b: Tensor | number): Tensor {
  return binary('maximum', a, b, (g, sa, sb) => selectGrad(g, sa!, sb!, 'gt'));
}

export function minimum(a: Tensor | number, b: Tensor | number): Tensor {
  return binary('minimum', a, b, (g, sa, sb) => selectGrad(g, sa!, sb!, 'lt'));
}

export const eq = (a: Tensor | number, b: Tensor | number): Tensor => binary('eq', a, b);
export const ne = (a: Tensor | number, b: Tensor | number): Tensor => binary('ne', a, b);
export const lt = (a: Tensor | number, b: Tensor | number): Tensor => binary('lt', a, b);
export const le = (a: Tensor | number, b: Tensor | number): Tensor => binary('le', a, b);
export const gt = (a: Tensor | number, b: Tensor | number): Tensor => binary('gt', a, b);
export const ge = (a: Tensor | number, b: Tensor | number): Tensor => binary('ge', a, b);

function unaryKernel(op: UnaryOp, x: Tensor): Tensor {
  const floating = isFloating(x.dtype);
  const input = floating || op === 'neg' || op === 'abs' || op === 'sign' || op === 'square' ? x : cast(x, 'float32');
  const out = uninitialized(input.shape, input.dtype, input.backend);
  input.backend.run('unary', { x: input.storage, out: out.storage }, { op });
  if (input !== x) input.dispose();
  return out;
}

/** What a unary op's backward reads: nothing, its input, or its output (never both). */
type UnarySaves = 'none' | 'input' | 'output';

function unary(
  op: UnaryOp,
  x: Tensor,
  backward?: (g: Tensor, saved: Tensor) => Tensor,
  saves: UnarySaves = 'input',
): Tensor {
  const out = unaryKernel(op, x);
  if (backward) {
    const saved = saves === 'none' ? [] : saves === 'input' ? [x] : [out];
    recordOp(op, out, [x], saved, (g, [s]) => [backward(g, s!)]);
  }
  return out;
}

export const neg = (x: Tensor): Tensor => unary('neg', x, (g) => neg(g), 'none');
export const exp = (x: Tensor): Tensor => unary('exp', x, (g, out) => mul(g, out), 'output');
export const log = (x: Tensor): Tensor => unary('log', x, (g, sx) => div(g, sx));
export const sqrt = (x: Tensor): Tensor => unary('sqrt', x, (g, out) => div(mul(g, 0.5), out), 'output');
export const rsqrt = (x: Tensor): Tensor => unary('rsqrt', x, (g, out) => mul(mul(g, -0.5), pow(out, 3)), 'output');
export const abs = (x: Tensor): Tensor => unary('abs', x, (g, sx) => mul(g, sign(sx)));
export const sign = (x: Tensor): Tensor => unary('sign', x);
export const sigmoid = (x: Tensor): Tensor => unary('sigmoid', x, (g, out) => mul(g, mul(out, sub(1, out))), 'output');
export const silu = (x: Tensor): Tensor =>
  unary('silu', x, (g, sx) => {
    const s = sigmoid(sx);
    // d/dx x*s(x) = s + x*s*(1-s)
    return mul(g, add(s, mul(mul(sx, s), sub(1, s))));
  });
export const tanh = (x: Tensor): Tensor => unary('tanh', x, (g, out) => mul(g, sub(1, square(out))), 'output');
// relu'(x) = [out > 0]: saving the output (which the next op usually saves anyway) lets x go.
export const relu = (x: Tensor): Tensor => unary('relu', x, (g, out) => mul(g, cast(gt(out, 0), g.dtype)), 'output');
export const square = (x: Tensor): Tensor => unary('square', x, (g, sx) => mul(g, mul(sx, 2)));
export const reciprocal = (x: Tensor): Tensor => unary('reciprocal', x, (g, out) => neg(mul(g, square(out))), 'output');
export const sin = (x: Tensor): Tensor => unary('sin', x, (g, sx) => mul(g, cos(sx)));
export const cos = (x: Tensor): Tensor => unary('cos', x, (g, sx) => neg(mul(g, sin(sx))));

/** cond ? a : b elementwise, with broadcasting over all three. */
export function where(cond: Tensor, x: Tensor | number, y: Tensor | number): Tensor {
  // Shapes first: a mismatch must not leave the scalar operands allocated.
  broadcastShapes(
    broadcastShapes(cond.shape, typeof x === 'number' ? [] : x.shape, 'where'),
    typeof y === 'number' ? [] : y.shape,
    'where',
  );
  const like = typeof x !== 'number' ? x : typeof y !== 'number' ? y : undefined;
  const a = typeof x === 'number' ? full([], x, { dtype: like?.dtype ?? 'float32', backend: cond.backend }) : x;
  const b = typeof y === 'number' ? full([], y, { dtype: a.dtype, backend: cond.backend }) : y;
  const backend = backendOf('where', cond, a, b);
  const shape = broadcastShapes(broadcastShapes(cond.shape, a.shape, 'where'), b.shape, 'where');
  const dtype = promoteTypes(a.dtype, b.dtype);
  const ca = toComputeType(a, dtype);
  const cb = toComputeType(b, dtype);
  const out = empty(shape, dtype, backend);
  backend.run(
    'where',
    { cond: cond.storage, a: ca.storage, b: cb.storage, out: out.storage },
    {
      shape,
      aStrides: broadcastStrides(ca.shape, shape),
      bStrides: broadcastStrides(cb.shape, shape),
      condStrides: broadcastStrides(cond.shape, shape),
    },
  );
  recordOp('where', out, [a, b], [cond], (g, [c]) => {
    const zero = full([], 0, { dtype: g.dtype, backend: g.backend });
    const ga = a.requiresGrad ? reduceGrad(where(c!, g, zero), a.shape) : null;
    const gb = b.requiresGrad ? reduceGrad(where(c!, zero, g), b.shape) : null;
    zero.dispose();
    return [ga, gb];
  });
  for (const [made, given] of [
    [ca, a],
    [cb, b],
  ] as const) {
    if (made !== given) made.dispose();
  }
  if (a !== x) a.dispose();
  if (b !== y) b.dispose();
  return out;
}

/** Converts to another dtype; gradients flow back in the input's dtype. */
export function cast(x: Tensor, dtype: DType): Tensor {
  if (x.dtype === dtype) {
    // No copy, but still an op of the graph: the gradient must flow back through it.
    const same = x.shareAs(x.shape);
    recordOp('cast', same, [x], [], (g) => [g.retain()]);
    return same;
  }
  const backend = x.backend;
  if (!backend.supportsDType(dtype)) {
    throw new Error(`to(${dtype}): the ${backend.name} backend does not support ${dtype}`);
  }
  const out = uninitialized(x.shape, dtype, backend);
  backend.run('cast', { x: x.storage, out: out.storage }, {});
  if (isFloating(dtype) && isFloating(x.dtype)) {
    recordOp('cast', out, [x], [], (g) => [cast(g, x.dtype)]);
  }
  return out;
}

/** A contiguous copy (gradient passes through). */
export function clone(x: Tensor): Tensor {
  const backend = x.backend;
  const out = uninitialized(x.shape, x.dtype, backend);
  const view = { shape: x.shape, strides: contiguousStrides(x.shape), offset: 0 };
  backend.run('copy', { src: x.storage, dst: out.storage }, { srcView: view, dstView: view });
  recordOp('clone', out, [x], [], (g) => [g.retain()]);
  return out;
}
