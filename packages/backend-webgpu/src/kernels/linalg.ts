/**
 * SVD and QR by host fallback: the input is downloaded in stream order, factorised by the CPU
 * backend's float64 Jacobi SVD / Householder QR (so results match the reference backend exactly,
 * signs included), and the factors are uploaded before any later kernel runs. GaLore needs this
 * once every few hundred steps; a GPU subspace iteration built from matmuls can replace it for
 * large matrices without changing this interface.
 */
import type { Backend, Storage } from '@galore-ts/core';
import { createCpuBackend } from '@galore-ts/core';
import type { Executor } from '../executor.js';
import type { GpuStorage } from '../storage.js';
import type { GpuKernel } from './context.js';

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

export const hostSvd: GpuKernel<'svd'> = (ctx, { a, u, s, vt }, params) => {
  if (Math.min(params.m, params.n) === 0) return;
  onHost(ctx.executor, a, [u, s, vt], (cpu, x, [hu, hs, hvt]) =>
    cpu.run('svd', { a: x, u: hu as Storage, s: hs as Storage, vt: hvt as Storage }, params),
  );
};

export const hostQr: GpuKernel<'qr'> = (ctx, { a, q, r }, params) => {
  if (params.n === 0) return;
  onHost(ctx.executor, a, [q, r], (cpu, x, [hq, hr]) =>
    cpu.run('qr', { a: x, q: hq as Storage, r: hr as Storage }, params),
  );
};
