/**
 * Matmul throughput of a backend: C = A B for n x n matrices of each dtype, GFLOPS = 2 n^3 / time,
 * the median of `--rounds` timed rounds of `--reps` products each (after warm-up), on random data.
 * On CUDA it measures both cuBLAS (when it loaded) and our own kernels (useLibraries(false)).
 * Each product is checked on `--samples` random entries against a float64 dot product of the
 * same (already rounded) inputs.
 *
 *   node scripts/gpu-check/dist/matmul.mjs --backend cuda --size 4096 --dtypes bfloat16,float32 --out r.json
 */
import { type Backend, type DType, matmul, randn, tidy, useBackend } from '@galore-ts/core';
import { type Args, describeBackend, intArg, median, parseArgs, Result, round, runMain } from './common.js';

let result: Result | undefined;

interface Impl {
  name: string;
  select: (backend: Backend) => void;
}

function implementations(backend: Backend): Impl[] {
  const withLibraries = backend as Backend & {
    useLibraries?: (enable: boolean) => void;
    device?: { cublas?: unknown };
  };
  if (typeof withLibraries.useLibraries !== 'function') return [{ name: backend.name, select: () => {} }];
  const impls: Impl[] = [];
  if (withLibraries.device?.cublas) impls.push({ name: 'cublas', select: () => withLibraries.useLibraries?.(true) });
  impls.push({ name: 'ours', select: () => withLibraries.useLibraries?.(false) });
  return impls;
}

/** Largest relative error of `samples` entries of C against float64 dot products of A's rows and B's columns. */
async function sampleError(a: Float32Array, b: Float32Array, c: Float32Array, n: number, samples: number) {
  let worst = 0;
  let state = 12345;
  const next = () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state % n;
  };
  for (let s = 0; s < samples; s++) {
    const i = next();
    const j = next();
    let dot = 0;
    let scale = 0;
    for (let k = 0; k < n; k++) {
      const term = (a[i * n + k] as number) * (b[k * n + j] as number);
      dot += term;
      scale += Math.abs(term);
    }
    const got = c[i * n + j] as number;
    if (!Number.isFinite(got)) return Number.POSITIVE_INFINITY;
    worst = Math.max(worst, Math.abs(got - dot) / Math.max(scale, 1e-30));
  }
  return worst;
}

async function main(args: Args): Promise<void> {
  const n = intArg(args, 'size', 4096);
  const reps = intArg(args, 'reps', 10);
  const rounds = intArg(args, 'rounds', 5);
  const samples = intArg(args, 'samples', 32);
  const dtypes = (args.dtypes ?? 'bfloat16,float32').split(',') as DType[];
  result = new Result(args.out, { size: n, reps, rounds, backend: null, runs: [] });
  const backend = await useBackend(args.backend ?? 'cuda');
  result.set('backend', describeBackend(backend));
  const runs: unknown[] = [];
  for (const dtype of dtypes) {
    for (const impl of implementations(backend)) {
      impl.select(backend);
      const a = randn([n, n], { dtype, backend });
      const b = randn([n, n], { dtype, backend });
      try {
        // Warm-up (module load, library handles, the allocator's first blocks), then the check.
        for (let w = 0; w < 2; w++) tidy(() => matmul(a, b)).dispose();
        const c = matmul(a, b);
        const [av, bv, cv] = await Promise.all([a.data(), b.data(), c.data()]);
        c.dispose();
        const relError = await sampleError(
          Float32Array.from(av as ArrayLike<number>),
          Float32Array.from(bv as ArrayLike<number>),
          Float32Array.from(cv as ArrayLike<number>),
          n,
          samples,
        );
        const seconds: number[] = [];
        for (let r = 0; r < rounds; r++) {
          await backend.sync();
          const start = performance.now();
          for (let i = 0; i < reps; i++) matmul(a, b).dispose();
          await backend.sync();
          seconds.push((performance.now() - start) / 1000 / reps);
        }
        const perProduct = median(seconds);
        const run = {
          dtype,
          impl: impl.name,
          gflops: round((2 * n ** 3) / perProduct / 1e9, 1),
          msPerProduct: round(perProduct * 1000, 3),
          roundsMs: seconds.map((s) => round(s * 1000, 3)),
          maxRelError: relError,
        };
        console.log(
          `matmul ${n} ${dtype} ${impl.name}: ${run.gflops} GFLOPS (rel. error ${relError.toExponential(2)})`,
        );
        runs.push(run);
      } catch (error) {
        runs.push({ dtype, impl: impl.name, error: (error as Error).message });
        console.error(`matmul ${n} ${dtype} ${impl.name}: ${(error as Error).message}`);
      } finally {
        a.dispose();
        b.dispose();
      }
      result.set('runs', runs);
    }
  }
  result.finish();
  if (runs.some((run) => 'error' in (run as object))) throw new Error('some matmul runs failed (see runs[].error)');
}

runMain(
  () => main(parseArgs(process.argv.slice(2))),
  () => result,
);
