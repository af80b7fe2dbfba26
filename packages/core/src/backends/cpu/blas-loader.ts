/**
 * Finds the machine's BLAS at run time and binds cblas_sgemm / cblas_dgemm through koffi (an FFI
 * with prebuilt binaries in its npm package, so nothing is compiled at install).
 *
 * GALORE_BLAS chooses: unset or `auto` tries the known library names below in order; `none` (or
 * `off`, `0`) turns BLAS off; anything else is a library file or name to load, and failing to load
 * it is an error (asking for a library and silently running without it would hide the mistake).
 * The first successful look-up is cached for the process.
 */
import { createRequire } from 'node:module';

/** CBLAS enum values shared by every implementation. */
export const CBLAS_ROW_MAJOR = 101;
export const CBLAS_NO_TRANS = 111;
export const CBLAS_TRANS = 112;

type Gemm<T> = (
  order: number,
  transA: number,
  transB: number,
  m: number,
  n: number,
  k: number,
  alpha: number,
  a: T,
  lda: number,
  b: T,
  ldb: number,
  beta: number,
  c: T,
  ldc: number,
) => void;

export interface BlasLibrary {
  /** What the library says it is, e.g. "OpenBLAS 0.3.21 DYNAMIC_ARCH ... Cooperlake". */
  name: string;
  /** The file or name it was loaded from. */
  path: string;
  /** Threads it computes with, where the library can say. */
  threads: number | null;
  sgemm: Gemm<Float32Array>;
  dgemm: Gemm<Float64Array>;
}

export interface BlasStatus {
  library: BlasLibrary | null;
  /** Why there is no library (or how it was chosen). */
  reason: string;
}

/** Minimal slice of koffi's API used here. */
interface KoffiLib {
  func(signature: string): (...args: unknown[]) => unknown;
}
interface Koffi {
  load(path: string): KoffiLib;
}

const GEMM_ARGS = 'int order, int ta, int tb, int m, int n, int k';

/** Library names and files to try, most common first, for this platform. */
export function blasCandidates(platform = process.platform, arch = process.arch): string[] {
  if (platform === 'darwin') {
    return [
      '/System/Library/Frameworks/Accelerate.framework/Accelerate',
      '/opt/homebrew/opt/openblas/lib/libopenblas.dylib',
      '/usr/local/opt/openblas/lib/libopenblas.dylib',
      'libopenblas.dylib',
    ];
  }
  if (platform === 'win32') return ['libopenblas.dll', 'openblas.dll', 'mkl_rt.2.dll', 'mkl_rt.dll'];
  const multiarch = arch === 'arm64' ? 'aarch64-linux-gnu' : 'x86_64-linux-gnu';
  // Debian/Ubuntu keep each OpenBLAS flavour in its own folder behind the alternatives system.
  const debian = ['openblas-pthread', 'openblas-openmp', 'openblas-serial'].map(
    (flavour) => `/usr/lib/${multiarch}/${flavour}/libopenblas.so.0`,
  );
  return [
    'libopenblas.so.0',
    'libopenblas.so',
    ...debian,
    'libopenblasp.so.0',
    'libmkl_rt.so.2',
    'libmkl_rt.so',
    'libblis.so.4',
    'libblis.so.3',
    'libblis.so',
  ];
}

function loadKoffi(): Koffi {
  const required = createRequire(import.meta.url)('koffi') as Koffi & { default?: Koffi };
  return required.default ?? required;
}

/** Calls an optional no-argument function of the library; null when it is missing or fails. */
function optionalCall(lib: KoffiLib, signature: string): unknown {
  try {
    return lib.func(signature)();
  } catch {
    return null;
  }
}

function describe(lib: KoffiLib, path: string): { name: string; threads: number | null } {
  const openblas = optionalCall(lib, 'const char *openblas_get_config(void)');
  if (typeof openblas === 'string') {
    const threads = optionalCall(lib, 'int openblas_get_num_threads(void)');
    return {
      name: `OpenBLAS ${openblas.replace(/^OpenBLAS /, '')}`,
      threads: typeof threads === 'number' ? threads : null,
    };
  }
  const mkl = optionalCall(lib, 'int MKL_Get_Max_Threads(void)');
  if (typeof mkl === 'number') return { name: 'Intel MKL', threads: mkl };
  const blis = optionalCall(lib, 'int64_t bli_thread_get_num_threads(void)');
  if (typeof blis === 'number' || typeof blis === 'bigint') return { name: 'BLIS', threads: Number(blis) };
  if (path.includes('Accelerate')) return { name: 'Apple Accelerate', threads: null };
  return { name: path, threads: null };
}

/** Loads one library and binds its GEMMs; throws when the file or a symbol is missing. */
export function openBlas(path: string, koffi: Koffi = loadKoffi()): BlasLibrary {
  const lib = koffi.load(path);
  const sgemm = lib.func(
    `void cblas_sgemm(${GEMM_ARGS}, float alpha, const float *a, int lda, const float *b, int ldb, float beta, float *c, int ldc)`,
  ) as Gemm<Float32Array>;
  const dgemm = lib.func(
    `void cblas_dgemm(${GEMM_ARGS}, double alpha, const double *a, int lda, const double *b, int ldb, double beta, double *c, int ldc)`,
  ) as Gemm<Float64Array>;
  return { ...describe(lib, path), path, sgemm, dgemm };
}

/** Resolves GALORE_BLAS (see the module comment) without caching. */
export function findBlas(setting = process.env.GALORE_BLAS): BlasStatus {
  const choice = (setting ?? '').trim();
  if (['none', 'off', '0', 'false'].includes(choice.toLowerCase())) {
    return { library: null, reason: `GALORE_BLAS=${choice} turns BLAS off` };
  }
  let koffi: Koffi;
  try {
    koffi = loadKoffi();
  } catch (error) {
    return { library: null, reason: `the koffi FFI did not load (${(error as Error).message.split('\n')[0]})` };
  }
  if (choice !== '' && choice.toLowerCase() !== 'auto') {
    try {
      return { library: openBlas(choice, koffi), reason: `GALORE_BLAS=${choice}` };
    } catch (error) {
      throw new Error(`GALORE_BLAS=${choice}: cannot use it as a BLAS library: ${(error as Error).message}`);
    }
  }
  const candidates = blasCandidates();
  for (const candidate of candidates) {
    try {
      return { library: openBlas(candidate, koffi), reason: 'found on this machine' };
    } catch {
      // Not there (or no CBLAS in it): try the next one.
    }
  }
  return { library: null, reason: `no BLAS found (tried ${candidates.join(', ')}; set GALORE_BLAS=/path/to/lib)` };
}

let cached: BlasStatus | undefined;

/** The process's BLAS, looked up on first use. */
export function blasStatus(): BlasStatus {
  cached ??= findBlas();
  return cached;
}
