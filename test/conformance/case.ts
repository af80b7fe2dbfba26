/**
 * What a conformance case is: it draws parameters with fast-check, runs one kernel through a
 * KernelIo, and names the outputs to compare together with their key in the tolerance table.
 * The same parameters run on the backend under test and on the CPU reference.
 */
import fc from 'fast-check';
import type { Storage } from '../../packages/core/src/backend.js';
import type { DType } from '../../packages/core/src/dtype.js';
import type { KernelIo } from './io.js';

export interface CaseContext {
  /** Floating dtypes the backend under test stores (float32 always; 16-bit and float64 if supported). */
  floatDTypes: DType[];
  /** Every dtype the backend under test stores. */
  allDTypes: DType[];
}

export interface Output {
  storage: Storage;
  /** Key into TOLERANCES. */
  tolerance: string;
}

export interface KernelCase<P> {
  name: string;
  draw(context: CaseContext): fc.Arbitrary<P>;
  run(io: KernelIo, params: P): Record<string, Output>;
  /** Replaces the default output-by-output comparison where outputs are not unique (SVD vectors). */
  compare?(
    got: Record<string, number[]>,
    want: Record<string, number[]>,
    params: P,
    compareOutput: CompareOutput,
  ): void;
}

export type CompareOutput = (label: string, got: number[], want: number[], toleranceKey: string, dtype: DType) => void;

export type AnyKernelCase = KernelCase<unknown>;

export function kernelCase<P>(definition: KernelCase<P>): AnyKernelCase {
  return definition as unknown as AnyKernelCase;
}

/** Seeds for the value generator: shrinking them is meaningless, shapes shrink instead. */
export const seed = fc.noShrink(fc.integer());
export const floatDType = (c: CaseContext) => fc.constantFrom(...c.floatDTypes);
