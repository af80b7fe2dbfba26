/** --backend: the CPU backend ships with core; webgpu and cuda are loaded on demand. */
import { type Backend, CpuBackend, BACKEND_NAMES as KNOWN_BACKENDS, useBackend } from '@galore-ts/core';

/** Every backend core knows except meta, which computes nothing (the memory command plans on it itself). */
export const BACKEND_NAMES = KNOWN_BACKENDS.filter((name) => name !== 'meta');

export async function selectBackend(name: string): Promise<Backend> {
  if (!(BACKEND_NAMES as readonly string[]).includes(name)) {
    throw new Error(`--backend '${name}' is not one of ${BACKEND_NAMES.join(', ')}`);
  }
  return useBackend(name);
}

/** The backend's name, and for the CPU what its matmuls run on (the BLAS library it found, or why none). */
export function describeBackend(backend: Backend): string {
  return backend instanceof CpuBackend ? `cpu; matmuls on ${backend.gemm.summary}` : backend.name;
}
