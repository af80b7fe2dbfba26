/**
 * Kernel declarations. Each kernel is declared once: its name, the storages it reads and writes by
 * name, the check of its arguments, and optionally a fallback composed of other kernels that runs
 * on a backend without its own implementation. Core declares its kernels in ./core-kernels.ts;
 * packages above core declare theirs with `defineKernel` the same way.
 */
import type { Backend, KernelIO, KernelParams } from '../backend.js';

export interface KernelDeclaration<K extends string = string> {
  readonly name: K;
  /** Storages the kernel only reads. */
  readonly inputs: readonly string[];
  /** Storages the kernel writes (in-place kernels list what they update here). */
  readonly outputs: readonly string[];
  /**
   * Throws when the arguments are wrong (sizes, dtypes, params), naming the kernel, the argument,
   * what was expected and what came. Runs before any backend sees the call, so every backend
   * (the meta backend included) reports the same error.
   */
  check(io: KernelIO<K>, params: KernelParams<K>): void;
  /**
   * The kernel composed of other kernels, for a backend that does not implement it. It receives
   * checked arguments and may allocate temporaries (counted as 'other' by the tracker).
   */
  fallback?(backend: Backend, io: KernelIO<K>, params: KernelParams<K>): void;
}

const declarations = new Map<string, KernelDeclaration>();

/** Declares a kernel; declaring a name twice is an error unless it is the same declaration. */
export function defineKernel<K extends string>(declaration: KernelDeclaration<K>): KernelDeclaration<K> {
  const existing = declarations.get(declaration.name);
  if (existing && existing !== (declaration as unknown as KernelDeclaration)) {
    throw new Error(`defineKernel: a kernel named "${declaration.name}" is already declared`);
  }
  declarations.set(declaration.name, declaration as unknown as KernelDeclaration);
  return declaration;
}

/** The declaration of `name`; throws listing the known kernels when there is none. */
export function kernelDeclaration(name: string): KernelDeclaration {
  const found = declarations.get(name);
  if (!found) {
    throw new TypeError(`unknown kernel ${JSON.stringify(name)}; declared: ${[...declarations.keys()].join(', ')}`);
  }
  return found;
}

/** Names of every declared kernel (core's and those packages added). */
export function declaredKernels(): string[] {
  return [...declarations.keys()];
}

type AnyImpl = (io: never, params: never) => void;
const implementations = new Map<string, Map<string, AnyImpl>>();

/**
 * Adds the implementation of kernel `name` on every backend named `backend` (its `name`), for a
 * kernel a package declared: the implementation receives checked arguments and that backend's own
 * storage class (CpuStorage on the CPU). A backend's built-in implementation takes precedence.
 */
export function implementKernel(backend: string, name: string, impl: AnyImpl): void {
  const table = implementations.get(backend) ?? new Map<string, AnyImpl>();
  implementations.set(backend, table);
  table.set(name, impl);
}

/** @internal The implementation a package added for `name` on backends named `backend`. */
export function addedImplementation(backend: string, name: string): AnyImpl | undefined {
  return implementations.get(backend)?.get(name);
}
