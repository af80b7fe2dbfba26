/** Conformance cases for matmul, SVD and QR. */
import fc from 'fast-check';
import { floatDType, kernelCase, seed } from '../case.js';
import { seededValues } from '../io.js';

export const matmulCase = kernelCase({
  name: 'matmul',
  draw: (c) =>
    fc.record({
      dtype: floatDType(c),
      batch: fc.integer({ min: 1, max: 3 }),
      m: fc.integer({ min: 1, max: 40 }),
      n: fc.integer({ min: 1, max: 40 }),
      k: fc.integer({ min: 1, max: 80 }),
      transA: fc.boolean(),
      transB: fc.boolean(),
      broadcastA: fc.boolean(),
      broadcastB: fc.boolean(),
      accumulate: fc.boolean(),
      seed,
    }),
  run: (io, p) => {
    const a = io.upload(p.dtype, seededValues((p.broadcastA ? 1 : p.batch) * p.m * p.k, p.seed));
    const b = io.upload(p.dtype, seededValues((p.broadcastB ? 1 : p.batch) * p.k * p.n, p.seed + 1));
    const out = io.upload(p.dtype, seededValues(p.batch * p.m * p.n, p.seed + 2));
    io.backend.run(
      'matmul',
      { a, b, out },
      {
        batch: p.batch,
        m: p.m,
        n: p.n,
        k: p.k,
        transA: p.transA,
        transB: p.transB,
        aBatchStride: p.broadcastA ? 0 : p.m * p.k,
        bBatchStride: p.broadcastB ? 0 : p.k * p.n,
        accumulate: p.accumulate,
      },
    );
    return { out: { storage: out, tolerance: 'matmul' } };
  },
});

export const svdCase = kernelCase({
  name: 'svd',
  draw: () => fc.record({ m: fc.integer({ min: 1, max: 24 }), n: fc.integer({ min: 1, max: 24 }), seed }),
  run: (io, p) => {
    const k = Math.min(p.m, p.n);
    const u = io.empty('float32', p.m * k);
    const s = io.empty('float32', k);
    const vt = io.empty('float32', k * p.n);
    io.backend.run('svd', { a: io.upload('float32', seededValues(p.m * p.n, p.seed)), u, s, vt }, { m: p.m, n: p.n });
    return {
      u: { storage: u, tolerance: 'svd.vectors' },
      s: { storage: s, tolerance: 'svd.s' },
      vt: { storage: vt, tolerance: 'svd.vectors' },
    };
  },
  /**
   * Singular values must agree; U diag(S) Vt must reproduce the reference's; and singular vectors
   * are compared only where their singular value is well separated (elsewhere they are not unique).
   */
  compare: (got, want, p, compareOutput) => {
    const { m, n } = p;
    const k = Math.min(m, n);
    const [gu, gs, gvt, wu, ws, wvt] = [got.u, got.s, got.vt, want.u, want.s, want.vt] as number[][] as [
      number[],
      number[],
      number[],
      number[],
      number[],
      number[],
    ];
    compareOutput('s', gs, ws, 'svd.s', 'float32');
    const reconstruct = (u: number[], s: number[], vt: number[]) =>
      Array.from({ length: m * n }, (_, at) => {
        const [i, j] = [Math.floor(at / n), at % n];
        let sum = 0;
        for (let r = 0; r < k; r++) sum += (u[i * k + r] as number) * (s[r] as number) * (vt[r * n + j] as number);
        return sum;
      });
    compareOutput('U diag(S) Vt', reconstruct(gu, gs, gvt), reconstruct(wu, ws, wvt), 'svd.reconstruction', 'float32');
    const largest = ws[0] ?? 0;
    for (let r = 0; r < k; r++) {
      const sr = ws[r] as number;
      const gap = Math.min(
        r > 0 ? (ws[r - 1] as number) - sr : Number.POSITIVE_INFINITY,
        r < k - 1 ? sr - (ws[r + 1] as number) : sr,
      );
      if (gap < 0.05 * largest) continue;
      const column = (u: number[]) => Array.from({ length: m }, (_, i) => u[i * k + r] as number);
      compareOutput(`u[:, ${r}]`, column(gu), column(wu), 'svd.vectors', 'float32');
      compareOutput(
        `vt[${r}, :]`,
        gvt.slice(r * n, (r + 1) * n),
        wvt.slice(r * n, (r + 1) * n),
        'svd.vectors',
        'float32',
      );
    }
  },
});

export const qrCase = kernelCase({
  name: 'qr',
  draw: () => fc.record({ a: fc.integer({ min: 1, max: 24 }), b: fc.integer({ min: 1, max: 24 }), seed }),
  run: (io, p) => {
    const [m, n] = p.a >= p.b ? [p.a, p.b] : [p.b, p.a];
    // A dominant diagonal keeps the matrix well conditioned, so Q and R are unique to round-off.
    const values = seededValues(m * n, p.seed).map((v, at) =>
      Math.floor(at / n) === at % n ? v + 2 + Math.sqrt(n) : v,
    );
    const q = io.empty('float32', m * n);
    const r = io.empty('float32', n * n);
    io.backend.run('qr', { a: io.upload('float32', values), q, r }, { m, n });
    return { q: { storage: q, tolerance: 'qr' }, r: { storage: r, tolerance: 'qr' } };
  },
});
