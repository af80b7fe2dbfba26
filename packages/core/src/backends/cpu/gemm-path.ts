/**
 * Which GEMM a CpuBackend runs its matmuls on: the machine's BLAS or the built-in kernels
 * (WebAssembly SIMD for float32, blocked JS for float64). Chosen per backend so that tests can run
 * both paths in one process and compare them.
 */
import { type BlasLibrary, blasStatus } from './blas-loader.js';

/** `auto`: BLAS when one is found; `blas`: BLAS or an error; `builtin`: never BLAS. */
export type GemmChoice = 'auto' | 'blas' | 'builtin';

export const GEMM_CHOICES: readonly GemmChoice[] = ['auto', 'blas', 'builtin'];

export interface GemmPath {
  kind: 'blas' | 'builtin';
  /** The library matmuls call, when kind is `blas`. */
  library: BlasLibrary | null;
  /** One line for people: what runs matmuls and why. */
  summary: string;
}

const BUILTIN = 'built-in WebAssembly SIMD (float32) and JS (float64) kernels';

export function resolveGemmPath(choice: GemmChoice): GemmPath {
  if (!GEMM_CHOICES.includes(choice)) {
    throw new TypeError(`CpuBackend: gemm must be one of ${GEMM_CHOICES.join(', ')}; got ${JSON.stringify(choice)}`);
  }
  if (choice === 'builtin') return { kind: 'builtin', library: null, summary: `${BUILTIN} (asked for)` };
  const { library, reason } = blasStatus();
  if (library) {
    const threads = library.threads === null ? '' : `, ${library.threads} thread${library.threads === 1 ? '' : 's'}`;
    return { kind: 'blas', library, summary: `${library.name} (${library.path}${threads})` };
  }
  if (choice === 'blas') throw new Error(`CpuBackend: gemm 'blas' was asked for but ${reason}`);
  return { kind: 'builtin', library: null, summary: `${BUILTIN}: ${reason}` };
}
