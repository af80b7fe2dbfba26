/**
 * Batched matmul with transpose flags and accumulate: out[b] (+)= op(A[b]) @ op(B[b]), f32
 * accumulation for every input dtype. Three kernels, one chosen per adapter by the backend:
 * matmul-tiled.ts (GPUs: workgroup tiles, register blocking, vec4 loads), matmul-subgroup.ts and
 * matmul-rowblock.ts (CPU adapters such as lavapipe, where SIMD lanes and per-lane loads change
 * what is fast).
 */
import type { BindingKind } from '../executor.js';
import { packParams } from '../wgsl.js';
import type { GpuKernel } from './context.js';
import { DEFAULT_ROWBLOCK, matmulSteps, type RowBlockTiling, rowBlockCode, STEPPED_FIELDS } from './matmul-rowblock.js';
import { type SubgroupTiling, subgroupCode } from './matmul-subgroup.js';
import { DEFAULT_TILING, type MatmulTiling, matmulCode, TILED_FIELDS, type Variant } from './matmul-tiled.js';

export { DEFAULT_ROWBLOCK, DEFAULT_TILING, type MatmulTiling, type RowBlockTiling, type SubgroupTiling };

/** The three matmul kernels: tiled (GPUs), row-block and subgroup (CPU adapters). */
export type AnyTiling = MatmulTiling | RowBlockTiling | SubgroupTiling;

function aligned4(...values: number[]): boolean {
  return values.every((x) => x % 4 === 0);
}

/** The matmul kernel built from `tiling`'s code (the backend picks one per adapter). */
export const matmulWith =
  (tiling: AnyTiling): GpuKernel<'matmul'> =>
  (ctx, { a, b, out }, params) => {
    const kernel = 'WebGPUBackend.matmul';
    const { batch, m, n, k, transA, transB, aBatchStride, bBatchStride } = params;
    if (out.size === 0) return;
    if (k === 0) {
      if (!params.accumulate) ctx.executor.clear(out.buffer, 0, Math.ceil(out.byteLength / 4) * 4);
      return;
    }
    const variant: Variant = {
      transA,
      transB,
      vecA: a.dtype === 'float32' && aligned4(transA ? m : k, batch > 1 ? aBatchStride : 0),
      vecB: b.dtype === 'float32' && aligned4(transB ? k : n, batch > 1 ? bBatchStride : 0),
      accumulate: params.accumulate === true,
    };
    const kinds: BindingKind[] = ['uniform', 'read', 'read', 'write'];
    let code: string;
    let groups: number[];
    if ('subgroup' in tiling) {
      code = subgroupCode(a, b, out, tiling);
      groups = [Math.ceil(n / (tiling.subgroup * tiling.cn)), Math.ceil(m / tiling.rows), batch];
    } else if ('cn' in tiling) {
      code = rowBlockCode(a, b, out, tiling);
      groups = [Math.ceil(n / (tiling.wg * tiling.cn)), Math.ceil(m / tiling.tm), batch];
    } else {
      code = matmulCode(a, b, out, variant, tiling);
      groups = [Math.ceil(n / (tiling.wgX * tiling.tn)), Math.ceil(m / (tiling.wgY * tiling.tm)), batch];
    }
    const compiled = ctx.executor.kernel(kernel, code, kinds);
    if (groups.some((g) => g > ctx.maxGroupsPerDimension)) {
      throw new RangeError(
        `${kernel}: ${groups.join(' x ')} workgroups exceed maxComputeWorkgroupsPerDimension (${ctx.maxGroupsPerDimension})`,
      );
    }
    const values = { m, n, k, aStride: aBatchStride, bStride: bBatchStride, accumulate: variant.accumulate ? 1 : 0 };
    const stepped = 'subgroup' in tiling || 'cn' in tiling;
    const packed = stepped
      ? packParams(STEPPED_FIELDS, { ...values, ...matmulSteps(params) })
      : packParams(TILED_FIELDS, values);
    ctx.executor.dispatch(
      compiled,
      [ctx.binding(a, kernel, 'a'), ctx.binding(b, kernel, 'b'), ctx.binding(out, kernel, 'out')],
      packed,
      groups,
    );
  };
