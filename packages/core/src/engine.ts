/**
 * Global engine state: the active backend, tidy scopes, grad mode, the memory category new
 * tensors are counted under, and the random generator's counter.
 */
import type { Backend } from './backend.js';
import type { MemoryCategory } from './memory.js';
import { philoxBlocks, seedWords } from './random.js';
import type { Tensor } from './tensor.js';

/** The backends core knows by name: cpu and meta ship with core, webgpu and cuda are imported lazily. */
export const BACKEND_NAMES = ['cpu', 'meta', 'webgpu', 'cuda'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

type BackendFactory = () => Promise<Backend> | Backend;

const factories = new Map<string, BackendFactory>();
const instances = new Map<string, Backend>();
let active: Backend | undefined;

/** Makes a backend available under `name` (core registers cpu and meta; GPU packages are imported lazily). */
export function registerBackend(name: string, factory: BackendFactory): void {
  factories.set(name, factory);
}

const lazyPackages: Record<string, { pkg: string; factory: string }> = {
  webgpu: { pkg: '@galore-ts/backend-webgpu', factory: 'createWebGPUBackend' },
  cuda: { pkg: '@galore-ts/backend-cuda', factory: 'createCudaBackend' },
};

/** Returns (creating once) the backend registered under `name`. */
export async function getBackendByName(name: BackendName | string): Promise<Backend> {
  const existing = instances.get(name);
  if (existing) return existing;
  let factory = factories.get(name);
  if (!factory) {
    const lazy = lazyPackages[name];
    if (!lazy) {
      const known = [...new Set([...factories.keys(), ...Object.keys(lazyPackages)])].join(', ');
      throw new Error(`useBackend: unknown backend '${name}'; expected one of ${known}`);
    }
    let mod: Record<string, unknown>;
    try {
      mod = (await import(lazy.pkg)) as Record<string, unknown>;
    } catch (err) {
      throw new Error(
        `useBackend('${name}'): the package ${lazy.pkg} could not be loaded (${(err as Error).message}); install it with npm install ${lazy.pkg}`,
      );
    }
    const create = mod[lazy.factory];
    if (typeof create !== 'function')
      throw new Error(`useBackend('${name}'): ${lazy.pkg} does not export ${lazy.factory}()`);
    factory = create as BackendFactory;
  }
  const backend = await factory();
  instances.set(name, backend);
  return backend;
}

/** Selects the backend new tensors are created on. */
export async function useBackend(name: BackendName | string): Promise<Backend> {
  active = await getBackendByName(name);
  return active;
}

/** Selects an already created backend instance. */
export function setBackend(backend: Backend): void {
  active = backend;
}

export function getBackend(): Backend {
  if (!active) {
    const cpu = factories.get('cpu');
    if (!cpu) throw new Error('no backend registered');
    const made = cpu();
    if (made instanceof Promise) throw new Error('the cpu backend factory must be synchronous');
    instances.set('cpu', made);
    active = made;
  }
  return active;
}

/** Destroys every created backend (GPU devices keep Node alive until released). */
export async function disposeBackends(): Promise<void> {
  for (const b of instances.values()) await b.destroy?.();
  instances.clear();
  active = undefined;
}

// --- tidy scopes ---

/**
 * The tensors a tidy scope made. A tensor is tracked by at most one scope, the one it names in
 * `trackedBy`; `keep` only clears that field, so an entry here whose tensor names another scope
 * (or none) is no longer this scope's (an array and a field: no Set work per tensor).
 */
interface Scope {
  tensors: Tensor[];
}

interface Tracked {
  trackedBy?: Scope | undefined;
}

const scopes: Scope[] = [];

function track(t: Tensor, scope: Scope): void {
  scope.tensors.push(t);
  (t as Tracked).trackedBy = scope;
}

function owns(scope: Scope, t: Tensor): boolean {
  return (t as Tracked).trackedBy === scope;
}

/** Called by every Tensor constructor. */
export function trackTensor(t: Tensor): void {
  const scope = scopes[scopes.length - 1];
  if (scope) track(t, scope);
}

/** Removes a tensor from every open scope: it outlives them and is the caller's to dispose. */
export function keep<T extends Tensor>(t: T): T {
  (t as Tracked).trackedBy = undefined;
  return t;
}

function collectTensors(value: unknown, out: Set<Tensor>, isTensor: (v: unknown) => v is Tensor, depth = 0): void {
  if (depth > 4 || value === null || typeof value !== 'object') return;
  if (isTensor(value)) {
    out.add(value);
    return;
  }
  if (Array.isArray(value)) {
    for (const v of value) collectTensors(v, out, isTensor, depth + 1);
    return;
  }
  if (Object.getPrototypeOf(value) === Object.prototype) {
    for (const v of Object.values(value)) collectTensors(v, out, isTensor, depth + 1);
  }
}

let tensorCheck: ((v: unknown) => v is Tensor) | undefined;
export function setTensorCheck(check: (v: unknown) => v is Tensor): void {
  tensorCheck = check;
}

/**
 * Runs `fn` and disposes every tensor created inside it, except those it returns (a tensor, or
 * tensors inside a returned array or plain object) and those passed to `keep`. Returned tensors
 * move to the enclosing scope.
 */
export function tidy<T>(fn: () => T): T {
  const scope: Scope = { tensors: [] };
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (err) {
    scopes.pop();
    release(scope, undefined);
    throw err;
  }
  scopes.pop();
  if (result instanceof Promise) {
    throw new Error('tidy: the function returned a Promise; tidy only tracks synchronous work');
  }
  const survivors = new Set<Tensor>();
  if (tensorCheck) collectTensors(result, survivors, tensorCheck);
  release(scope, survivors);
  const parent = scopes[scopes.length - 1];
  // Only tensors this scope owned move up; kept ones stay untracked.
  for (const t of survivors) {
    if (!owns(scope, t)) continue;
    if (parent && !t.isDisposed) track(t, parent);
    else (t as Tracked).trackedBy = undefined;
  }
  return result;
}

/** Disposes the tensors `scope` still owns except `survivors`, and lets go of the rest. */
function release(scope: Scope, survivors: Set<Tensor> | undefined): void {
  for (const t of scope.tensors) {
    if (!owns(scope, t) || survivors?.has(t)) continue;
    (t as Tracked).trackedBy = undefined;
    t.dispose();
  }
  scope.tensors.length = 0;
}

// --- grad mode and memory category: settings that scoped helpers change and put back ---

const settings: { gradEnabled: boolean; category: MemoryCategory } = { gradEnabled: true, category: 'activation' };

/** Runs `fn` with setting `key` at `value`, putting the previous value back afterwards (also on a throw). */
function withSetting<K extends keyof typeof settings, T>(key: K, value: (typeof settings)[K], fn: () => T): T {
  const previous = settings[key];
  settings[key] = value;
  try {
    return fn();
  } finally {
    settings[key] = previous;
  }
}

export function isGradEnabled(): boolean {
  return settings.gradEnabled;
}

/** Runs `fn` without recording operations for autograd. */
export function noGrad<T>(fn: () => T): T {
  return withSetting('gradEnabled', false, fn);
}

/** Runs `fn` with grad recording forced on or off. */
export function withGradEnabled<T>(enabled: boolean, fn: () => T): T {
  return withSetting('gradEnabled', enabled, fn);
}

export function currentCategory(): MemoryCategory {
  return settings.category;
}

/** Counts every allocation made inside `fn` under `cat` (e.g. optimizer state). */
export function withCategory<T>(cat: MemoryCategory, fn: () => T): T {
  return withSetting('category', cat, fn);
}

// --- random numbers ---

export interface RngState {
  seed: string;
  offset: number;
}

let rngSeed: bigint = 0n;
let rngWords = seedWords(0);
let rngOffset = 0;

/** Seeds the global generator, like torch.manual_seed. */
export function manualSeed(seed: number | bigint): void {
  rngSeed = BigInt.asUintN(64, BigInt(seed));
  rngWords = seedWords(rngSeed);
  rngOffset = 0;
}

/** Reserves Philox counters for `size` numbers and returns where they start. */
export function nextRandomCounters(size: number): { seed: readonly [number, number]; offset: number } {
  const offset = rngOffset;
  rngOffset += philoxBlocks(size);
  return { seed: rngWords, offset };
}

export function getRngState(): RngState {
  return { seed: rngSeed.toString(), offset: rngOffset };
}

export function setRngState(state: RngState): void {
  manualSeed(BigInt(state.seed));
  rngOffset = state.offset;
}
