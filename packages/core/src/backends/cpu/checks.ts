/**
 * The CPU backend's own argument checks: a storage must be a live CpuStorage of this backend. The
 * checks every backend shares (sizes, dtypes, counts) are in ../kernel-checks.ts.
 */
import type { Backend, Storage } from '../../backend.js';
import { CpuStorage } from './storage.js';

export function describeStorage(s: Storage): string {
  return `${s.dtype}[${s.size}]`;
}

/** Narrows a Storage to a live CpuStorage owned by `backend`. */
export function cpuStorage(backend: Backend, s: Storage, kernel: string, role: string): CpuStorage {
  if (!(s instanceof CpuStorage)) {
    const from = (s as Partial<Storage> | undefined)?.backend?.name ?? typeof s;
    throw new TypeError(`${kernel}: ${role} must be a CPU storage; got one from backend "${from}"`);
  }
  if (s.backend !== backend) throw new Error(`${kernel}: ${role} belongs to another CpuBackend instance`);
  if (s.freed) throw new Error(`${kernel}: ${role} (storage #${s.id}, ${describeStorage(s)}) was already freed`);
  return s;
}
