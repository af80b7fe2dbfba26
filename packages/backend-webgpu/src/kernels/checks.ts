/**
 * WebGPU's own argument check: WGSL has no f64, so the kernels take float32, bfloat16 or float16.
 * The checks every backend shares (sizes, dtypes, counts) come from @galore-ts/core.
 */
import type { DType, Storage } from '@galore-ts/core';
import { expectFloating as expectFloatingOf } from '@galore-ts/core';

/** The float dtypes WGSL kernels read and write. */
export const GPU_FLOATS: readonly DType[] = ['float32', 'bfloat16', 'float16'];

export function expectFloating(s: Storage, kernel: string, role: string): void {
  expectFloatingOf(s, kernel, role, GPU_FLOATS);
}
