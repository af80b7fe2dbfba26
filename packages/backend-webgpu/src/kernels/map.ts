/**
 * The elementwise kernel builder behind unary, binary, where, cast, SiLU-mul, GELU, AdamW and
 * (de)quantisation. Outputs are contiguous, so each invocation owns `P` consecutive elements,
 * P = the widest packing among the outputs, and writes whole words: packed outputs need no atomics.
 *
 * Inputs are read at the element index (same-index operands) or through broadcast strides. When
 * every operand is same-index, storages larger than one binding are processed in chunks.
 */
import { collapseDims, contiguousStrides } from '@galore-ts/core';
import { alignUp, type Binding } from '../executor.js';
import type { GpuStorage } from '../storage.js';
import * as wgsl from '../wgsl.js';
import { bindingKinds, flagCode, type KernelContext } from './context.js';

interface MapInput {
  name: string;
  storage: GpuStorage;
  /** Broadcast strides over `MapSpec.shape`; omitted: read at the element index. */
  strides?: readonly number[];
}

interface MapOutput {
  name: string;
  storage: GpuStorage;
  /** The value expressions are i32 instead of f32. */
  integer?: boolean;
}

/** An operand by its WGSL name: the storage, or the storage with how it is read or written. */
export type MapOperands<O> = Readonly<Record<string, GpuStorage | (O & { storage: GpuStorage })>>;

export interface MapSpec {
  kernel: string;
  /** Number of output elements. */
  size: number;
  /** Logical shape, required when an input has strides. */
  shape?: readonly number[];
  /** Inputs read per element (`strides`: broadcast over `shape`; omitted: read at the element index). */
  inputs: MapOperands<{ strides?: readonly number[] }>;
  /** Outputs written per element (`integer`: the value expressions are i32 instead of f32). */
  outputs: MapOperands<{ integer?: boolean }>;
  /** Whole-storage read-only operands the body indexes itself (codebooks, per-block scales). */
  extras?: Readonly<Record<string, GpuStorage>>;
  /** WGSL functions the statements and values call (module scope, before `main`). */
  functions?: string;
  /**
   * Per element: WGSL statements that may use `e` (index in this chunk), `gidx` (global element
   * index), `i_NAME` (each input's element index), `ld_NAME(i)` / `ldi_NAME(i)` and `p.FIELD`.
   */
  pre?: string;
  /** WGSL expression of each output's value, by output name. */
  values: Readonly<Record<string, string>>;
  params?: readonly wgsl.ParamField[];
  paramValues?: Readonly<Record<string, number>>;
  /** The body may call `flag_error(code, value)` (./context.ts). */
  flag?: boolean;
}

/** The spec with its operands as lists in declaration order (the binding order). */
function listOperands(spec: MapSpec) {
  const list = <O>(operands: MapOperands<O>) =>
    Object.entries(operands).map(([name, o]) => ('storage' in o ? { name, ...o } : { name, storage: o }));
  return {
    ...spec,
    inputs: list(spec.inputs) as MapInput[],
    outputs: list(spec.outputs) as MapOutput[],
    extras: Object.entries(spec.extras ?? {}).map(([name, storage]) => ({ name, storage })),
  };
}

type ListedSpec = ReturnType<typeof listOperands>;

function sameArray(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** Records the kernel `spec` describes (in chunks when needed). */
export function runMap(ctx: KernelContext, given: MapSpec): void {
  if (given.size === 0) return;
  const spec = listOperands(given);
  // Inputs whose strides are the output's own are same-index; the rest index through the shape.
  const shape = spec.shape ?? [spec.size];
  const outStrides = contiguousStrides(shape);
  const strided = spec.inputs.filter((input) => input.strides && !sameArray(input.strides, outStrides));
  let rank = 0;
  const indexParams: wgsl.ParamField[] = [];
  const indexValues: Record<string, number> = {};
  const stridedNames = new Set(strided.map((s) => s.name));
  if (strided.length > 0) {
    const collapsed = collapseDims(shape, [outStrides, ...strided.map((s) => s.strides as readonly number[])]);
    rank = collapsed.shape.length;
    collapsed.shape.forEach((size, d) => {
      indexParams.push([`sh${d}`, 'u32']);
      indexValues[`sh${d}`] = size;
    });
    strided.forEach((input, k) => {
      (collapsed.strides[k + 1] as number[]).forEach((stride, d) => {
        if (stride < 0)
          throw new RangeError(`${spec.kernel}: negative strides are not supported; got ${stride} for ${input.name}`);
        indexParams.push([`st_${input.name}_${d}`, 'u32']);
        indexValues[`st_${input.name}_${d}`] = stride;
      });
    });
  }

  // Operands and their bindings; an input that is also an output reads the output's buffer.
  const outputStorages = new Map(spec.outputs.map((o) => [o.storage, o.name] as const));
  const bindingOps: { op: wgsl.Operand; storage: GpuStorage; whole: boolean }[] = [];
  const loaders: string[] = [];
  const inputStorages = new Map<GpuStorage, string>();
  for (const out of spec.outputs) {
    bindingOps.push({
      op: { name: out.name, dtype: out.storage.dtype, mode: 'write' },
      storage: out.storage,
      whole: false,
    });
  }
  for (const input of spec.inputs) {
    const alias = outputStorages.get(input.storage) ?? inputStorages.get(input.storage);
    const op: wgsl.Operand = { name: input.name, dtype: input.storage.dtype, mode: 'read' };
    if (alias !== undefined) op.array = alias;
    else {
      inputStorages.set(input.storage, input.name);
      bindingOps.push({ op, storage: input.storage, whole: stridedNames.has(input.name) });
    }
    loaders.push(wgsl.loader(op), wgsl.intLoader(op));
  }
  for (const extra of spec.extras) {
    const op: wgsl.Operand = { name: extra.name, dtype: extra.storage.dtype, mode: 'read' };
    bindingOps.push({ op, storage: extra.storage, whole: true });
    loaders.push(wgsl.loader(op), wgsl.intLoader(op));
  }

  const P = Math.max(...spec.outputs.map((o) => wgsl.packOf(o.storage.dtype)));
  const fields: wgsl.ParamField[] = [['n', 'u32'], ['base', 'u32'], ...indexParams, ...(spec.params ?? [])];
  const ops = bindingOps.map((b) => b.op);
  // Everything the generated code depends on; the values of the parameters are not part of it.
  const key = JSON.stringify([
    spec.kernel,
    spec.functions,
    spec.pre,
    spec.values,
    rank,
    [...stridedNames],
    ops,
    fields,
    spec.outputs.map((o) => o.integer === true),
    spec.flag === true,
  ]);
  const kernel = ctx.executor.cachedKernel(key, () => ({
    name: spec.kernel,
    code: buildShader(spec, P, rank, strided, fields, ops, loaders),
    kinds: spec.flag ? [...bindingKinds(ops), 'write'] : bindingKinds(ops),
  }));

  // Split when a same-index storage is larger than one binding.
  const chunked = bindingOps.filter((b) => !b.whole);
  const tooLarge = bindingOps.some((b) => alignUp(b.storage.byteLength, 16) > ctx.maxBindingBytes);
  const chunk = tooLarge && strided.length === 0 ? ctx.chunkElements(chunked.map((b) => b.storage.dtype)) : spec.size;
  for (let start = 0; start < spec.size; start += chunk) {
    const count = Math.min(chunk, spec.size - start);
    const bindings: Binding[] = bindingOps.map((b) =>
      b.whole || chunk === spec.size
        ? ctx.binding(b.storage, spec.kernel, b.op.name)
        : ctx.rangeBinding(b.storage, start, count),
    );
    if (spec.flag) bindings.push(ctx.flagBinding());
    const values = { ...indexValues, ...(spec.paramValues ?? {}), n: count, base: start };
    ctx.dispatchThreads(kernel, bindings, [fields, values], Math.ceil(count / P));
  }
}

function buildShader(
  spec: ListedSpec,
  P: number,
  rank: number,
  strided: readonly MapInput[],
  fields: readonly wgsl.ParamField[],
  ops: readonly wgsl.Operand[],
  loaders: readonly string[],
): string {
  const indexLines: string[] = [];
  if (strided.length > 0) {
    indexLines.push('    var rem = e;');
    for (const s of strided) indexLines.push(`    var i_${s.name} = 0u;`);
    for (let d = rank - 1; d >= 0; d--) {
      indexLines.push(`    let c${d} = rem % p.sh${d}; rem = rem / p.sh${d};`);
      for (const s of strided) indexLines.push(`    i_${s.name} += c${d} * p.st_${s.name}_${d};`);
    }
  }
  const stridedNames = new Set(strided.map((s) => s.name));
  for (const input of spec.inputs) {
    if (!stridedNames.has(input.name)) indexLines.push(`    let i_${input.name} = e;`);
  }
  const results = spec.outputs.map((o) => `  var r_${o.name} = array<${o.integer ? 'i32' : 'f32'}, ${P}>();`);
  const assigns = spec.outputs.map((o) => {
    const value = spec.values[o.name];
    if (value === undefined) throw new Error(`internal: ${spec.kernel} has no value for output ${o.name}`);
    return `    r_${o.name}[j] = ${value};`;
  });
  const stores = spec.outputs.map((o) => {
    const pack = wgsl.packOf(o.storage.dtype);
    const words = P / pack;
    const lines: string[] = [];
    for (let w = 0; w < words; w++) {
      const lanes = Array.from({ length: pack }, (_, l) => `r_${o.name}[${w * pack + l}]`);
      const wordIndex = `index * ${words}u + ${w}u`;
      lines.push(
        `  if (${wordIndex} * ${pack}u < p.n) { ${wgsl.storeWord({ name: o.name, dtype: o.storage.dtype, mode: 'write' }, wordIndex, lanes, o.integer)} }`,
      );
    }
    return lines.join('\n');
  });
  const body = `  if (index * ${P}u >= p.n) { return; }
${results.join('\n')}
  for (var j = 0u; j < ${P}u; j++) {
    let e = index * ${P}u + j;
    if (e >= p.n) { break; }
    let gidx = e + p.base;
${indexLines.join('\n')}
${spec.pre ?? ''}
${assigns.join('\n')}
  }
${stores.join('\n')}`;
  return [
    wgsl.PRELUDE,
    wgsl.declareParams(fields),
    ops.map((op, i) => wgsl.declareBinding(i + 1, op)).join('\n'),
    spec.flag ? flagCode(ops.length + 1) : '',
    loaders.join('\n'),
    spec.functions ?? '',
    wgsl.linearMain(body),
  ].join('\n');
}
