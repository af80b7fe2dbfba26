/**
 * GaLore's kernels, added to core the way core declares its own: bitsandbytes' blockwise 8-bit
 * codec. Each has its declaration and check, a CPU implementation, and a fallback composed of core
 * kernels, so a backend that does not implement the codec still runs 8-bit AdamW (WebGPU and CUDA
 * implement both under these names).
 *
 * quantizeBlockwise: per block of `blockSize` elements, absmax[b] = max |x|, and codes[i] = index
 *   of the entry of the sorted 1..256-entry `codebook` nearest to x[i] / absmax[b].
 * dequantizeBlockwise: out[i] = codebook[codes[i]] * absmax[block(i)].
 */
import {
  type Backend,
  type CpuStorage,
  type DType,
  defineKernel,
  expectDType,
  expectFloating,
  expectPositive,
  expectSize,
  fromNumbers,
  implementKernel,
  type Storage,
  toNumberArray,
} from '@galore-ts/core';

export interface QuantizeParams {
  blockSize: number;
}

type QuantizeIO<S = Storage> = { x: S; codebook: S; codes: S; absmax: S };
type DequantizeIO<S = Storage> = { codes: S; codebook: S; absmax: S; out: S };

function checkCodebook(kernel: string, codebook: Storage): void {
  expectFloating(kernel, 'codebook', codebook);
  if (codebook.size < 1 || codebook.size > 256) {
    throw new RangeError(`${kernel}: codebook must have 1..256 entries (codes are uint8); got ${codebook.size}`);
  }
}

function blocks(kernel: string, size: number, params: QuantizeParams): number {
  return Math.ceil(size / expectPositive(kernel, 'blockSize', params.blockSize));
}

export const quantizeBlockwiseKernel = defineKernel({
  name: 'quantizeBlockwise',
  inputs: ['x', 'codebook'],
  outputs: ['codes', 'absmax'],
  check(io, params) {
    const { x, codebook, codes, absmax } = io as QuantizeIO;
    const k = 'quantizeBlockwise';
    expectFloating(k, 'x', x);
    expectDType(k, 'codes', codes, ['uint8']);
    expectSize(k, 'codes', codes, x.size, 'x.size');
    // A 16-bit scale would be rounded after the codes were chosen against it, so it is refused.
    expectDType(k, 'absmax', absmax, ['float32', 'float64']);
    expectSize(k, 'absmax', absmax, blocks(k, x.size, params as QuantizeParams), 'ceil(x.size / blockSize)');
    checkCodebook(k, codebook);
  },
  fallback(backend, io, params) {
    composedQuantize(backend, io as QuantizeIO, params as QuantizeParams);
  },
});

export const dequantizeBlockwiseKernel = defineKernel({
  name: 'dequantizeBlockwise',
  inputs: ['codes', 'codebook', 'absmax'],
  outputs: ['out'],
  check(io, params) {
    const { codes, codebook, absmax, out } = io as DequantizeIO;
    const k = 'dequantizeBlockwise';
    expectDType(k, 'codes', codes, ['uint8']);
    expectFloating(k, 'out', out);
    expectSize(k, 'out', out, codes.size, 'codes.size');
    expectFloating(k, 'absmax', absmax);
    expectSize(k, 'absmax', absmax, blocks(k, codes.size, params as QuantizeParams), 'ceil(codes.size / blockSize)');
    checkCodebook(k, codebook);
  },
  fallback(backend, io, params) {
    composedDequantize(backend, io as DequantizeIO, params as QuantizeParams);
  },
});

// --- composed fallbacks: core kernels only, in float32, with 'other' temporaries ---

function temp(backend: Backend, size: number, dtype: DType): Storage {
  return backend.alloc(size, dtype, 'other');
}

const flat = (size: number, offset = 0) => ({ shape: [size], strides: [1], offset });

/** Pads a flat storage to `blocks * blockSize` elements (zeros after the end), as [blocks, blockSize]. */
function padded(backend: Backend, x: Storage, count: number, blockSize: number): Storage {
  const out = temp(backend, count * blockSize, 'float32');
  backend.run('fill', { out }, { value: 0 });
  const x32 = x.dtype === 'float32' ? x : temp(backend, x.size, 'float32');
  if (x32 !== x) backend.run('cast', { x, out: x32 }, {});
  backend.run('copy', { src: x32, dst: out }, { srcView: flat(x.size), dstView: flat(x.size) });
  if (x32 !== x) backend.free(x32);
  return out;
}

function composedQuantize(backend: Backend, { x, codebook, codes, absmax }: QuantizeIO, { blockSize }: QuantizeParams) {
  const count = Math.ceil(x.size / blockSize);
  const values = padded(backend, x, count, blockSize);
  const magnitude = temp(backend, values.size, 'float32');
  backend.run('unary', { x: values, out: magnitude }, { op: 'abs' });
  const scale = temp(backend, count, 'float32');
  backend.run('reduce', { x: magnitude, out: scale }, { op: 'max', outer: count, reduce: blockSize, inner: 1 });
  backend.free(magnitude);
  if (absmax.dtype === 'float32')
    backend.run('copy', { src: scale, dst: absmax }, { srcView: flat(count), dstView: flat(count) });
  else backend.run('cast', { x: scale, out: absmax }, {});
  // normalised = scale == 0 ? 0 : x / scale; then the nearest entry = argmax of -|normalised - entry|.
  const divided = temp(backend, values.size, 'float32');
  const grid = [count, blockSize];
  backend.run(
    'binary',
    { a: values, b: scale, out: divided },
    { op: 'div', shape: grid, aStrides: [blockSize, 1], bStrides: [1, 0] },
  );
  const zero = temp(backend, 1, 'float32');
  backend.run('fill', { out: zero }, { value: 0 });
  const isZero = temp(backend, count, 'uint8');
  backend.run('binary', { a: scale, b: zero, out: isZero }, { op: 'eq', shape: [count], aStrides: [1], bStrides: [0] });
  const normalised = temp(backend, values.size, 'float32');
  backend.run(
    'where',
    { cond: isZero, a: zero, b: divided, out: normalised },
    { shape: grid, condStrides: [1, 0], aStrides: [0, 0], bStrides: [blockSize, 1] },
  );
  for (const s of [divided, isZero, scale, values]) backend.free(s);
  const entries = codebook.size;
  const book = codebook.dtype === 'float32' ? codebook : temp(backend, entries, 'float32');
  if (book !== codebook) backend.run('cast', { x: codebook, out: book }, {});
  const n = x.size;
  const distance = temp(backend, n * entries, 'float32');
  const table = [n, entries];
  backend.run(
    'binary',
    { a: normalised, b: book, out: distance },
    { op: 'sub', shape: table, aStrides: [1, 0], bStrides: [0, 1] },
  );
  backend.run('unary', { x: distance, out: distance }, { op: 'abs' });
  backend.run('unary', { x: distance, out: distance }, { op: 'neg' });
  const nearest = temp(backend, n, 'int32');
  backend.run('argmax', { x: distance, out: nearest }, { outer: n, reduce: entries, inner: 1 });
  backend.run('cast', { x: nearest, out: codes }, {});
  for (const s of [distance, nearest, normalised, zero]) backend.free(s);
  if (book !== codebook) backend.free(book);
}

function composedDequantize(
  backend: Backend,
  { codes, codebook, absmax, out }: DequantizeIO,
  { blockSize }: QuantizeParams,
) {
  const n = codes.size;
  const ids = temp(backend, n, 'int32');
  backend.run('cast', { x: codes, out: ids }, {});
  const book = codebook.dtype === 'float32' ? codebook : temp(backend, codebook.size, 'float32');
  if (book !== codebook) backend.run('cast', { x: codebook, out: book }, {});
  const entries = temp(backend, n, 'float32');
  backend.run('gatherRows', { table: book, ids, out: entries }, { dim: 1 });
  const count = absmax.size;
  const scale = absmax.dtype === 'float32' ? absmax : temp(backend, count, 'float32');
  if (scale !== absmax) backend.run('cast', { x: absmax, out: scale }, {});
  const full = Math.floor(n / blockSize);
  const result = out.dtype === 'float32' ? out : temp(backend, n, 'float32');
  // Whole blocks as [full, blockSize] times a per-row scale, then the partial last block.
  if (full > 0) {
    backend.run(
      'binary',
      { a: entries, b: scale, out: result },
      { op: 'mul', shape: [full, blockSize], aStrides: [blockSize, 1], bStrides: [1, 0] },
    );
  }
  const rest = n - full * blockSize;
  if (rest > 0) {
    const part = temp(backend, rest, 'float32');
    const tail = temp(backend, rest, 'float32');
    const last = temp(backend, 1, 'float32');
    backend.run('copy', { src: entries, dst: part }, { srcView: flat(rest, full * blockSize), dstView: flat(rest) });
    backend.run('copy', { src: scale, dst: last }, { srcView: flat(1, full), dstView: flat(1) });
    backend.run('binary', { a: part, b: last, out: tail }, { op: 'mul', shape: [rest], aStrides: [1], bStrides: [0] });
    backend.run('copy', { src: tail, dst: result }, { srcView: flat(rest), dstView: flat(rest, full * blockSize) });
    for (const s of [part, tail, last]) backend.free(s);
  }
  if (result !== out) {
    backend.run('cast', { x: result, out }, {});
    backend.free(result);
  }
  for (const s of [ids, entries]) backend.free(s);
  if (book !== codebook) backend.free(book);
  if (scale !== absmax) backend.free(scale);
}

// --- the CPU implementation (the reference) ---

/** The codebook's values; they must be sorted ascending. */
function sortedCodebook(codebook: CpuStorage, kernel: string): Float32Array | Float64Array {
  const values = toNumberArray(codebook.dtype, codebook.data) as Float32Array | Float64Array;
  for (let i = 1; i < values.length; i++) {
    if (!((values[i] as number) >= (values[i - 1] as number))) {
      throw new RangeError(
        `${kernel}: codebook must be sorted ascending; entry ${i} (${values[i]}) < entry ${i - 1} (${values[i - 1]})`,
      );
    }
  }
  return values;
}

/** Index of the entry nearest to `value` in an ascending codebook; ties go to the lower index. */
function nearestCode(codebook: ArrayLike<number>, value: number): number {
  let low = 0;
  let high = codebook.length - 1;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if ((codebook[mid] as number) < value) low = mid + 1;
    else high = mid;
  }
  if (low > 0 && value - (codebook[low - 1] as number) <= (codebook[low] as number) - value) return low - 1;
  return low;
}

/** float64 when every floating input is float64 (gradient checks), float32 semantics otherwise. */
function rounderFor(...storages: CpuStorage[]): (v: number) => number {
  return storages.every((s) => s.dtype === 'float64') ? (v) => v : Math.fround;
}

implementKernel('cpu', 'quantizeBlockwise', (io: QuantizeIO<CpuStorage>, { blockSize }: QuantizeParams) => {
  const { x, codebook, codes, absmax } = io;
  const kernel = 'quantizeBlockwise';
  const book = sortedCodebook(codebook, kernel);
  const values = toNumberArray(x.dtype, x.data);
  const out = codes.data as Uint8Array;
  const round = rounderFor(x, codebook);
  const count = Math.ceil(values.length / blockSize);
  const scales = new Float64Array(count);
  for (let b = 0; b < count; b++) {
    const start = b * blockSize;
    const end = Math.min(start + blockSize, values.length);
    let max = 0;
    for (let i = start; i < end; i++) {
      const magnitude = Math.abs(values[i] as number);
      if (!Number.isFinite(magnitude))
        throw new RangeError(`${kernel}: x[${i}] is ${values[i]}; quantisation needs finite input`);
      if (magnitude > max) max = magnitude;
    }
    // Codes are chosen against the scale as stored, so dequantisation reproduces the choice.
    const scale = absmax.dtype === 'float64' ? max : Math.fround(max);
    scales[b] = scale;
    for (let i = start; i < end; i++)
      out[i] = nearestCode(book, scale === 0 ? 0 : round((values[i] as number) / scale));
  }
  absmax.data.set(fromNumbers(absmax.dtype, scales) as never);
});

implementKernel('cpu', 'dequantizeBlockwise', (io: DequantizeIO<CpuStorage>, { blockSize }: QuantizeParams) => {
  const { codes, codebook, absmax, out } = io;
  const book = sortedCodebook(codebook, 'dequantizeBlockwise');
  const scales = toNumberArray(absmax.dtype, absmax.data);
  const indices = codes.data as Uint8Array;
  const round = rounderFor(codebook, absmax);
  const y = new Float64Array(indices.length);
  for (let i = 0; i < indices.length; i++) {
    const code = indices[i] as number;
    if (code >= book.length) {
      throw new RangeError(`dequantizeBlockwise: codes[${i}] = ${code} is past the codebook's ${book.length} entries`);
    }
    y[i] = round((book[code] as number) * (scales[Math.floor(i / blockSize)] as number));
  }
  out.data.set(fromNumbers(out.dtype, y) as never);
});
