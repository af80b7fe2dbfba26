// Proves the conformance harness catches wrong backends and honours skip / require.
import { describe, expect, it } from 'vitest';
import type {
  KernelIO,
  KernelParams,
  MatmulParams,
  ReduceLayout,
  ReduceOp,
  UnaryOp,
} from '../../packages/core/src/backend.js';
import { CpuBackend, type CpuStorage } from '../../packages/core/src/backends/cpu/index.js';
import { expectWithin } from './compare.js';
import { checkKernel, KERNEL_CASES, openOrSkip, requireEnvName, TOLERANCES } from './suite.js';

function kernelCase(name: string) {
  const found = KERNEL_CASES.find((c) => c.name === name);
  if (!found) throw new Error(`no conformance case named ${name}`);
  return found;
}

/** A CPU backend whose exp is off by `error` (absolute). */
class SkewedExpBackend extends CpuBackend {
  constructor(private readonly error: number) {
    super();
  }

  override run<K extends string>(name: K, io: KernelIO<K>, params: KernelParams<K>): void {
    super.run(name, io, params);
    if (name !== 'unary' || (params as { op: UnaryOp }).op !== 'exp') return;
    const data = (io as { out: CpuStorage }).out.data;
    if (data instanceof Float32Array || data instanceof Float64Array)
      for (let i = 0; i < data.length; i++) data[i] = (data[i] as number) + this.error;
  }

  override supportsDType(dtype: Parameters<CpuBackend['supportsDType']>[0]): boolean {
    return dtype === 'float32' || dtype === 'float64' || dtype === 'int32' || dtype === 'uint8';
  }
}

/** A CPU backend that forgets `accumulate`. */
class NoAccumulateBackend extends CpuBackend {
  override run<K extends string>(name: K, io: KernelIO<K>, params: KernelParams<K>): void {
    super.run(name, io, name === 'matmul' ? { ...params, accumulate: false } : params);
  }
}

/**
 * Accumulates like a GPU would: float32 after every addition, in another order (sums backwards,
 * matmul as a plain float32 dot product). The tolerance table must leave room for this.
 */
class Float32AccumulationBackend extends CpuBackend {
  override supportsDType(dtype: Parameters<CpuBackend['supportsDType']>[0]): boolean {
    return dtype === 'float32' || dtype === 'int32' || dtype === 'uint8';
  }

  override run<K extends string>(name: K, io: KernelIO<K>, params: KernelParams<K>): void {
    const { x, out } = io as { x?: CpuStorage; out: CpuStorage };
    if (name === 'reduce' && (params as { op: ReduceOp }).op === 'sum' && x?.dtype === 'float32') {
      this.sumBackwards(x, out, params as ReduceLayout);
    } else if (name === 'matmul') {
      const { a, b } = io as { a: CpuStorage; b: CpuStorage };
      this.float32Matmul(a, b, out, params as MatmulParams);
    } else super.run(name, io, params);
  }

  private sumBackwards(x: CpuStorage, out: CpuStorage, layout: ReduceLayout): void {
    const xs = x.data as Float32Array;
    const ys = out.data as Float32Array;
    const { outer, reduce, inner } = layout;
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < inner; i++) {
        let acc = 0;
        for (let r = reduce - 1; r >= 0; r--) acc = Math.fround(acc + (xs[(o * reduce + r) * inner + i] as number));
        ys[o * inner + i] = acc;
      }
    }
  }

  private float32Matmul(a: CpuStorage, b: CpuStorage, out: CpuStorage, p: MatmulParams): void {
    const [as, bs, cs] = [a, b, out].map((s) => s.data as Float32Array) as [Float32Array, Float32Array, Float32Array];
    for (let t = 0; t < p.batch; t++) {
      for (let i = 0; i < p.m; i++) {
        for (let j = 0; j < p.n; j++) {
          let acc = p.accumulate ? (cs[(t * p.m + i) * p.n + j] as number) : 0;
          for (let q = 0; q < p.k; q++) {
            const x = as[t * p.aBatchStride + (p.transA ? q * p.m + i : i * p.k + q)] as number;
            const y = bs[t * p.bBatchStride + (p.transB ? j * p.k + q : q * p.n + j)] as number;
            acc = Math.fround(acc + Math.fround(x * y));
          }
          cs[(t * p.m + i) * p.n + j] = acc;
        }
      }
    }
  }
}

const reference = new CpuBackend();

describe('conformance harness', () => {
  it('catches unary(exp) off by 1e-2', async () => {
    await expect(
      checkKernel(kernelCase('unary(exp)'), new SkewedExpBackend(1e-2), reference, { numRuns: 20 }),
    ).rejects.toThrow(/unary\(exp\): out: element \d+ is .*the CPU reference gives/);
  });

  it('lets unary(exp) off by far less than its tolerance pass', async () => {
    await expect(
      checkKernel(kernelCase('unary(exp)'), new SkewedExpBackend(1e-9), reference, { numRuns: 20 }),
    ).resolves.toBeUndefined();
  });

  it('catches a matmul that ignores accumulate', async () => {
    await expect(
      checkKernel(kernelCase('matmul'), new NoAccumulateBackend(), reference, { numRuns: 30 }),
    ).rejects.toThrow(/matmul: out/);
  });

  it('leaves other kernels of a skewed backend passing (failures are per kernel)', async () => {
    await expect(
      checkKernel(kernelCase('unary(log)'), new SkewedExpBackend(1e-2), reference, { numRuns: 10 }),
    ).resolves.toBeUndefined();
  });

  it('accepts float32 accumulation in another order (what GPUs do) for sums and matmul', async () => {
    const gpuLike = new Float32AccumulationBackend();
    await expect(checkKernel(kernelCase('reduce(sum)'), gpuLike, reference, { numRuns: 60 })).resolves.toBeUndefined();
    await expect(checkKernel(kernelCase('matmul'), gpuLike, reference, { numRuns: 60 })).resolves.toBeUndefined();
  });

  it('has a tolerance entry for every output a case names', () => {
    expect(Object.keys(TOLERANCES).length).toBeGreaterThan(KERNEL_CASES.length);
    for (const c of KERNEL_CASES) {
      if (c.compare) continue;
      expect(
        TOLERANCES[c.name] ?? Object.keys(TOLERANCES).find((k) => k.startsWith(`${c.name}.`)),
        c.name,
      ).toBeDefined();
    }
  });

  it('skips with the reason, or fails when GALORE_REQUIRE_<NAME>=1', async () => {
    const unavailable = async () => ({ skip: 'no adapter found' });
    expect(requireEnvName('web-gpu')).toBe('GALORE_REQUIRE_WEB_GPU');
    await expect(openOrSkip('webgpu', unavailable, {})).resolves.toEqual({
      skip: expect.stringMatching(/webgpu unavailable: no adapter found \(set GALORE_REQUIRE_WEBGPU=1/),
    });
    await expect(openOrSkip('webgpu', unavailable, { GALORE_REQUIRE_WEBGPU: '0' })).resolves.toHaveProperty('skip');
    await expect(openOrSkip('webgpu', unavailable, { GALORE_REQUIRE_WEBGPU: '1' })).rejects.toThrow(
      /webgpu is required \(GALORE_REQUIRE_WEBGPU=1\) but could not open: no adapter found/,
    );
    const backend = new CpuBackend();
    await expect(openOrSkip('cpu', async () => backend, { GALORE_REQUIRE_CPU: '1' })).resolves.toEqual({ backend });
  });
});

describe('expectWithin', () => {
  const tolerance = { abs: 1e-3, rel: 0 };

  it('accepts values inside the tolerance and matching NaN / infinities', () => {
    expect(() =>
      expectWithin(
        'x',
        [1, Number.NaN, Number.NEGATIVE_INFINITY],
        [1.0005, Number.NaN, Number.NEGATIVE_INFINITY],
        tolerance,
      ),
    ).not.toThrow();
  });

  it('rejects NaN against a number, mismatched infinities and wrong lengths', () => {
    expect(() => expectWithin('x', [Number.NaN], [1], tolerance)).toThrow(
      /x: element 0 is NaN, the CPU reference gives 1/,
    );
    expect(() => expectWithin('x', [Number.POSITIVE_INFINITY], [Number.NEGATIVE_INFINITY], tolerance)).toThrow(
      /element 0/,
    );
    expect(() => expectWithin('x', [1, 2], [1], tolerance)).toThrow(/got 2 elements, the CPU reference has 1/);
  });

  it('reports the worst element and how many are out', () => {
    expect(() => expectWithin('y', [0, 0.1, 0.01], [0, 0, 0], tolerance)).toThrow(
      /y: element 1 is 0.1.*2 of 3 elements are out of tolerance/,
    );
  });
});
