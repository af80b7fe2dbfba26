import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { blasCandidates, blasStatus, findBlas } from '../../../src/backends/cpu/blas-loader.js';
import { CpuBackend } from '../../../src/backends/cpu/index.js';
import { BLAS_REQUIRED } from './gemm-paths.js';

const backendModule = fileURLToPath(new URL('../../../src/backends/cpu/index.ts', import.meta.url));

/** The GEMM path a fresh process reports under the given GALORE_BLAS. */
function pathInSubprocess(setting: string): string {
  const script = `const { CpuBackend } = await import(${JSON.stringify(backendModule)});
    const b = new CpuBackend(); console.log(JSON.stringify({ kind: b.gemm.kind, summary: b.gemm.summary }));`;
  const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    env: { ...process.env, GALORE_BLAS: setting },
    encoding: 'utf8',
  });
  expect(run.status, run.stderr).toBe(0);
  return run.stdout.trim();
}

describe('finding the BLAS', () => {
  it('GALORE_BLAS=none turns it off; the backend then reports the built-in kernels', () => {
    expect(findBlas('none')).toEqual({ library: null, reason: 'GALORE_BLAS=none turns BLAS off' });
    const reported = JSON.parse(pathInSubprocess('none'));
    expect(reported.kind).toBe('builtin');
    expect(reported.summary).toMatch(/GALORE_BLAS=none/);
  });

  it('a library named by GALORE_BLAS that cannot be loaded is an error, not a silent fallback', () => {
    expect(() => findBlas('/no/such/libblas.so')).toThrow(/GALORE_BLAS=\/no\/such\/libblas.so: cannot use it/);
  });

  it('knows the usual names on Linux, macOS and Windows', () => {
    expect(blasCandidates('linux', 'x64')).toContain('/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0');
    expect(blasCandidates('linux', 'x64')).toContain('libmkl_rt.so.2');
    expect(blasCandidates('darwin', 'arm64')[0]).toMatch(/Accelerate/);
    expect(blasCandidates('win32', 'x64')).toContain('libopenblas.dll');
  });

  it.runIf(blasStatus().library !== null || BLAS_REQUIRED)('reports the library it found, by path', () => {
    const found = blasStatus().library;
    expect(found).not.toBeNull();
    const backend = new CpuBackend();
    expect(backend.gemm.kind).toBe('blas');
    expect(backend.gemm.summary).toContain(found!.path);
    // Naming the same library explicitly finds it too.
    expect(JSON.parse(pathInSubprocess(found!.path)).kind).toBe('blas');
  });

  it('a forced path is checked when the backend is made', () => {
    expect(new CpuBackend({ gemm: 'builtin' }).gemm.kind).toBe('builtin');
    expect(() => new CpuBackend({ gemm: 'fast' as never })).toThrow(/gemm must be one of auto, blas, builtin/);
  });
});
