/**
 * The shared backend conformance suite. A backend package calls
 *
 *   describeConformance('webgpu', async () => (await tryOpen()) ?? { skip: 'no adapter' });
 *
 * and every kernel of the Backend interface is checked against the CPU reference: fast-check
 * draws shapes and values, the kernel runs on both backends, and the downloaded outputs are
 * compared with the tolerance `tolerances.ts` states for that kernel. When the backend cannot
 * open, the suite says why and skips, unless GALORE_REQUIRE_<NAME>=1 (e.g. on a GPU runner),
 * in which case it fails.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../../packages/core/src/backend.js';
import { CpuBackend } from '../../packages/core/src/backends/cpu/index.js';
// GaLore's kernels (the 8-bit codec) are declared by its package; their cases run on every backend too.
import '../../packages/galore/src/quantization/kernels.js';
import { DTYPE_BYTES, type DType, hostArrayFor } from '../../packages/core/src/dtype.js';
import { type AnyKernelCase, caseContext, KERNEL_CASES } from './cases.js';
import { expectWithin } from './compare.js';
import { download, KernelIo, seededValues } from './io.js';
import { toleranceFor } from './tolerances.js';

export { KERNEL_CASES } from './cases.js';
export { TOLERANCES } from './tolerances.js';

export interface ConformanceOptions {
  /** fast-check runs per kernel (default 20, or GALORE_CONFORMANCE_RUNS). */
  numRuns?: number;
  /** fast-check seed, to replay a failure (default random, or GALORE_CONFORMANCE_SEED). */
  seed?: number;
}

export type OpenResult = Backend | { skip: string };

/** GALORE_REQUIRE_WEBGPU for "webgpu": non-alphanumerics become underscores. */
export function requireEnvName(name: string): string {
  return `GALORE_REQUIRE_${name.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
}

function resolveOptions(options: ConformanceOptions): { numRuns: number; seed?: number } {
  const envRuns = Number(process.env.GALORE_CONFORMANCE_RUNS);
  const envSeed = process.env.GALORE_CONFORMANCE_SEED;
  const numRuns = options.numRuns ?? (Number.isInteger(envRuns) && envRuns > 0 ? envRuns : 20);
  const seed = options.seed ?? (envSeed !== undefined && envSeed !== '' ? Number(envSeed) : undefined);
  return seed === undefined ? { numRuns } : { numRuns, seed };
}

interface RunResult {
  values: Record<string, number[]>;
  tolerances: Record<string, string>;
  dtypes: Record<string, DType>;
}

async function runOn(backend: Backend, kernelCase: AnyKernelCase, params: unknown): Promise<RunResult> {
  const io = new KernelIo(backend);
  try {
    const outputs = kernelCase.run(io, params);
    const result: RunResult = { values: {}, tolerances: {}, dtypes: {} };
    for (const [name, output] of Object.entries(outputs)) {
      result.values[name] = await download(backend, output.storage);
      result.tolerances[name] = output.tolerance;
      result.dtypes[name] = output.storage.dtype;
    }
    return result;
  } finally {
    io.release();
  }
}

function compareOutput(kernel: string) {
  return (label: string, got: number[], want: number[], toleranceKey: string, dtype: DType): void =>
    expectWithin(`${kernel}: ${label}`, got, want, toleranceFor(toleranceKey, dtype));
}

/**
 * Checks one kernel case: rejects (with fast-check's counterexample and seed) when the backend's
 * outputs leave the tolerance around the reference's.
 */
export async function checkKernel(
  kernelCase: AnyKernelCase,
  backend: Backend,
  reference: Backend,
  options: ConformanceOptions = {},
): Promise<void> {
  const property = fc.asyncProperty(kernelCase.draw(caseContext(backend)), async (params) => {
    const got = await runOn(backend, kernelCase, params);
    const want = await runOn(reference, kernelCase, params);
    const compare = compareOutput(kernelCase.name);
    if (kernelCase.compare) {
      kernelCase.compare(got.values, want.values, params, compare);
      return;
    }
    for (const [name, wantValues] of Object.entries(want.values)) {
      compare(name, got.values[name] ?? [], wantValues, want.tolerances[name] as string, got.dtypes[name] as DType);
    }
  });
  // includeErrorInReport puts our mismatch message (not only the counterexample) in the failure.
  await fc.assert(property, { ...resolveOptions(options), includeErrorInReport: true });
}

/** Raw upload and download are bit-exact for every dtype, and the tracker sees each byte. */
export async function checkStorage(backend: Backend): Promise<void> {
  for (const dtype of caseContext(backend).allDTypes) {
    for (const size of [0, 1, 7, 1000]) {
      const raw = hostArrayFor(dtype, size);
      // Random bit patterns (finite ones for floats, so no NaN canonicalisation can interfere).
      seededValues(size, size + dtype.length, 0, 100).forEach((v, i) => {
        raw[i] = dtype === 'bfloat16' || dtype === 'float16' ? Math.floor(v * 300) & 0x3bff : Math.floor(v);
      });
      const before = backend.tracker.snapshot().totalLive;
      const s = backend.alloc(size, dtype, 'activation');
      const counted = backend.tracker.snapshot().totalLive - before;
      expect(s.byteLength, `${dtype}[${size}] byteLength`).toBeGreaterThanOrEqual(size * DTYPE_BYTES[dtype]);
      expect(counted, `${dtype}[${size}] bytes counted by the tracker`).toBe(s.byteLength);
      backend.write(s, raw);
      const back = await backend.read(s);
      expect(back.constructor, `${dtype} read type`).toBe(raw.constructor);
      expect(Array.from(back), `${dtype}[${size}] round trip`).toEqual(Array.from(raw));
      backend.retag(s, 'parameter');
      backend.free(s);
      expect(backend.tracker.snapshot().totalLive, `${dtype}[${size}] bytes after free`).toBe(before);
    }
  }
}

/** Runs `call` and the sync after it; returns the message of the error either raised, or null. */
async function errorOf(backend: Backend, call: () => void): Promise<string | null> {
  try {
    call();
    await backend.sync();
    return null;
  } catch (error) {
    return (error as Error).message;
  }
}

/**
 * Out-of-range ids and targets give the same error on the backend under test as on the CPU
 * (reported at the call or at the next sync, never silently), and the backend stays usable.
 */
export async function checkDataErrors(backend: Backend, reference: Backend): Promise<void> {
  const cases: [string, (b: Backend) => void][] = [
    [
      'gatherRows',
      (b) => {
        const table = upload(b, 'float32', [1, 2, 3, 4]);
        const ids = upload(b, 'int32', [1, 7]);
        b.run('gatherRows', { table, ids, out: b.alloc(4, 'float32', 'other') }, { dim: 2 });
      },
    ],
    [
      'scatterAddRows',
      (b) => {
        const src = upload(b, 'float32', [1, 2]);
        const ids = upload(b, 'int32', [-3]);
        b.run('scatterAddRows', { src, ids, out: upload(b, 'float32', [0, 0, 0, 0]) }, { dim: 2 });
      },
    ],
    [
      'crossEntropy',
      (b) => {
        const logits = upload(b, 'float32', [0, 1, 2, 3]);
        const targets = upload(b, 'int32', [5, -100]);
        b.run(
          'crossEntropy',
          { logits, targets, loss: b.alloc(2, 'float32', 'other') },
          { rows: 2, cols: 2, ignoreIndex: -100 },
        );
      },
    ],
  ];
  for (const [kernel, call] of cases) {
    const expected = await errorOf(reference, () => call(reference));
    expect(expected, `${kernel}: the CPU reference reports the bad value`).not.toBeNull();
    expect(await errorOf(backend, () => call(backend)), kernel).toBe(expected);
  }
  await backend.sync(); // reported once, then the backend runs on
}

function upload(b: Backend, dtype: DType, values: number[]) {
  const s = b.alloc(values.length, dtype, 'other');
  const raw = hostArrayFor(dtype, values.length);
  raw.set(values);
  b.write(s, raw);
  return s;
}

/**
 * Opens the backend under test. Returns it, or the reason to skip; throws instead of skipping when
 * GALORE_REQUIRE_<NAME> is "1".
 */
export async function openOrSkip(
  name: string,
  open: () => Promise<OpenResult>,
  env: Record<string, string | undefined> = process.env,
): Promise<{ backend: Backend } | { skip: string }> {
  const opened = await open();
  if (!('skip' in opened)) return { backend: opened };
  const envName = requireEnvName(name);
  if (env[envName] === '1') {
    throw new Error(`conformance: ${name} is required (${envName}=1) but could not open: ${opened.skip}`);
  }
  return { skip: `${name} unavailable: ${opened.skip} (set ${envName}=1 to fail instead)` };
}

export function describeConformance(
  name: string,
  open: () => Promise<OpenResult>,
  options: ConformanceOptions = {},
): void {
  describe(`conformance: ${name}`, () => {
    const reference = new CpuBackend();
    let backend: Backend | undefined;
    let skipReason = 'the backend did not open';

    beforeAll(async () => {
      const opened = await openOrSkip(name, open);
      if ('skip' in opened) {
        skipReason = opened.skip;
        console.warn(`[conformance] skipping ${skipReason}`);
      } else {
        backend = opened.backend;
      }
    });

    afterAll(async () => {
      await backend?.destroy?.();
    });

    it('storage round trip and memory tracking', async (context) => {
      if (!backend) return context.skip(skipReason);
      await checkStorage(backend);
    });

    it('reports bad data with the error the CPU reference gives, at the call or at the next sync', async (context) => {
      if (!backend) return context.skip(skipReason);
      await checkDataErrors(backend, reference);
    });

    for (const kernelCase of KERNEL_CASES) {
      it(kernelCase.name, async (context) => {
        if (!backend) return context.skip(skipReason);
        await checkKernel(kernelCase, backend, reference, options);
      });
    }
  });
}
