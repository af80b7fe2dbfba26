/** PyTorch-like printing of tensors. */
import { formatShape } from './shape.js';
import type { Tensor } from './tensor.js';

const MAX_ITEMS = 6;

function formatNumber(x: number, integer: boolean): string {
  if (integer) return String(x);
  if (Number.isNaN(x) || !Number.isFinite(x)) return String(x);
  return Math.abs(x) >= 1e4 || (Math.abs(x) < 1e-3 && x !== 0) ? x.toExponential(4) : x.toFixed(4);
}

function formatValues(
  values: ArrayLike<number>,
  shape: readonly number[],
  offset: number,
  integer: boolean,
  indent: string,
): string {
  if (shape.length === 0) return formatNumber(values[offset]!, integer);
  const [n, ...rest] = shape;
  const stride = rest.reduce((a, b) => a * b, 1);
  const parts: string[] = [];
  const show = n! > MAX_ITEMS ? [0, 1, 2, -1, n! - 3, n! - 2, n! - 1] : [...Array(n).keys()];
  for (const i of show) {
    parts.push(i < 0 ? '...' : formatValues(values, rest, offset + i * stride, integer, `${indent} `));
  }
  const sep = rest.length > 0 ? `,\n${indent} ` : ', ';
  return `[${parts.join(sep)}]`;
}

export function formatTensor(t: Tensor, values: ArrayLike<number> | undefined): string {
  const meta = `shape=${formatShape(t.shape)}, dtype=${t.dtype}`;
  if (t.isDisposed) return `tensor(<disposed>, ${meta})`;
  const grad = t.gradFn ? `, grad_fn=${t.gradFn.name}` : t.requiresGrad ? ', requires_grad=true' : '';
  if (!values) return `tensor(<${t.backend.name}>, ${meta}${grad})`;
  const integer = t.dtype === 'int32' || t.dtype === 'uint8';
  return `tensor(${formatValues(values, t.shape, 0, integer, '       ')}, ${meta}${grad})`;
}
