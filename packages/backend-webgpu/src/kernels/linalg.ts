/**
 * SVD and QR by host fallback: the input is downloaded in stream order, factorised by the CPU
 * backend's float64 Jacobi SVD / Householder QR (so results match the reference backend exactly,
 * signs included), and the factors are uploaded before any later kernel runs. GaLore needs this
 * once every few hundred steps; a GPU subspace iteration built from matmuls can replace it for
 * large matrices without changing this interface.
 */
import type { Backend, Storage } from '@galore-ts/core';
import { createCpuBackend, expectCount, expectSize } from '@galore-ts/core';
import type { Executor } from '../executor.js';
import type { GpuStorage } from '../storage.js';
import { expectFloating } from './checks.js';

let hostBackend: Backend | null = null;

function host(): Backend {
  hostBackend ??= createCpuBackend();
  return hostBackend;
}

async function download(executor: Executor, s: GpuStorage, cpu: Backend): Promise<Storage> {
  const bytes = await executor.download(s.buffer, 0, s.byteLength);
  const copy = cpu.alloc(s.size, s.dtype, 'other');
  const raw = new (copyType(s))(bytes);
  cpu.write(copy, raw);
  return copy;
}

function copyType(s: GpuStorage): new (bytes: ArrayBuffer) => Float32Array | Uint16Array {
  return s.dtype === 'float32' ? Float32Array : Uint16Array;
}

/** Runs `factorise` on host copies of `input`, then uploads each CPU result into its GPU storage. */
function onHost(
  executor: Executor,
  input: GpuStorage,
  outputs: readonly GpuStorage[],
  factorise: (cpu: Backend, a: Storage, outs: Storage[]) => void,
): void {
  executor.hostStep(async () => {
    const cpu = host();
    const a = await download(executor, input, cpu);
    const outs = outputs.map((o) => cpu.alloc(o.size, o.dtype, 'other'));
    try {
      factorise(cpu, a, outs);
      outputs.forEach((o, i) => {
        const data = (cpu.readSync as (s: Storage) => ArrayBufferView)(outs[i] as Storage);
        executor.upload(o.buffer, data);
      });
    } finally {
      for (const s of [a, ...outs]) cpu.free(s);
    }
  });
}

export function hostSvd(
  executor: Executor,
  a: GpuStorage,
  m: number,
  n: number,
  u: GpuStorage,
  s: GpuStorage,
  vt: GpuStorage,
): void {
  const kernel = 'WebGPUBackend.svd';
  expectCount(m, kernel, 'm');
  expectCount(n, kernel, 'n');
  const k = Math.min(m, n);
  for (const [role, st] of [
    ['a', a],
    ['u', u],
    ['s', s],
    ['vt', vt],
  ] as const)
    expectFloating(st, kernel, role);
  expectSize(a, m * n, kernel, 'a', 'm * n');
  expectSize(u, m * k, kernel, 'u', 'm * min(m, n)');
  expectSize(s, k, kernel, 's', 'min(m, n)');
  expectSize(vt, k * n, kernel, 'vt', 'min(m, n) * n');
  if (k === 0) return;
  onHost(executor, a, [u, s, vt], (cpu, x, [hu, hs, hvt]) =>
    cpu.svd(x, m, n, hu as Storage, hs as Storage, hvt as Storage),
  );
}

export function hostQr(executor: Executor, a: GpuStorage, m: number, n: number, q: GpuStorage, r: GpuStorage): void {
  const kernel = 'WebGPUBackend.qr';
  expectCount(m, kernel, 'm');
  expectCount(n, kernel, 'n');
  if (m < n) throw new RangeError(`${kernel}: needs m >= n (a thin QR); got m = ${m}, n = ${n}`);
  for (const [role, st] of [
    ['a', a],
    ['q', q],
    ['r', r],
  ] as const)
    expectFloating(st, kernel, role);
  expectSize(a, m * n, kernel, 'a', 'm * n');
  expectSize(q, m * n, kernel, 'q', 'm * n');
  expectSize(r, n * n, kernel, 'r', 'n * n');
  if (n === 0) return;
  onHost(executor, a, [q, r], (cpu, x, [hq, hr]) => cpu.qr(x, m, n, hq as Storage, hr as Storage));
}
