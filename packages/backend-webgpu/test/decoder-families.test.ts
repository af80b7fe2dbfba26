/**
 * Every decoder family (LLaMA with llama3 and linear RoPE scaling, head_dim and biases, Mistral's
 * sliding window, Qwen2's q/k/v biases) on WebGPU against the CPU backend, which core's tests check
 * against the float64 reference: logits at real tokens, the masked loss and every parameter's
 * gradient on a batch padded on both sides, and KV-cache decoding against a full forward pass.
 * Both backends start from the same float32 weights; they differ only by float32 rounding in
 * another accumulation order.
 */
import {
  type Backend,
  getBackend,
  KVCache,
  type LlamaConfigInput,
  LlamaForCausalLM,
  manualSeed,
  noGrad,
  type Tensor,
  tensor,
} from '@galore-ts/core';
import { describe, it } from 'vitest';
import { withBackend } from '../../../test/llama-curve.js';
import { CASES, IDS, LABELS, MASK, randomize } from '../../core/test/models/decoder-family-cases.js';
import { expectClose as expectCloseWithin } from './compare.js';
import { webgpuForSuite } from './open.js';
import { backwardPass } from './pass.js';

const TOLERANCE = { abs: 1e-5, rel: 1e-4 };

interface Pass {
  logits: number[];
  loss: number;
  grads: Map<string, number[]>;
}

function buildModel(config: Record<string, unknown>, backend: Backend): LlamaForCausalLM {
  manualSeed(7);
  const model = new LlamaForCausalLM(config as unknown as LlamaConfigInput, { dtype: 'float32', backend });
  randomize(model);
  return model;
}

/** One forward and backward of the padded batch on `backend`, read back to the host. */
function forwardBackward(config: Record<string, unknown>, backend: Backend): Promise<Pass> {
  return withBackend(backend, async () => {
    const model = buildModel(config, backend);
    const { logits, loss } = model.forward(tensor(IDS, { dtype: 'int32' }), {
      attentionMask: tensor(MASK, { dtype: 'int32' }),
      labels: tensor(LABELS, { dtype: 'int32' }),
    });
    return backwardPass(model, logits, loss!);
  });
}

/** Logits of a prefill of 4 tokens then one token at a time, beside one forward of the whole row. */
function cachedAndFull(
  config: Record<string, unknown>,
  backend: Backend,
): Promise<{ cached: number[]; full: number[] }> {
  return withBackend(backend, async () => {
    const model = buildModel(config, backend);
    const row = [3, 1, 4, 1, 5, 9, 2];
    const read = async (t: Tensor) => {
      const values = Array.from(await t.data());
      t.dispose();
      return values;
    };
    const full = await read(noGrad(() => model.forward(tensor([row], { dtype: 'int32' })).logits));
    const cache = new KVCache(model.config.num_hidden_layers);
    const cached: number[] = [];
    for (const step of [row.slice(0, 4), ...row.slice(4).map((id) => [id])]) {
      cached.push(...(await read(noGrad(() => model.forward(tensor([step], { dtype: 'int32' }), { cache }).logits))));
    }
    cache.dispose();
    model.dispose();
    return { cached, full };
  });
}

function expectClose(got: readonly number[], want: readonly number[], what: string): void {
  expectCloseWithin(got, want, what, TOLERANCE);
}

/** Logits at real (unmasked) tokens only: a padded position's row is not defined by the model. */
function realTokenLogits(logits: readonly number[]): number[] {
  const vocab = logits.length / (IDS.length * IDS[0]!.length);
  return logits.filter((_, i) => MASK.flat()[Math.floor(i / vocab)] === 1);
}

describe.each(CASES)('decoder family on WebGPU: $name', ({ config }) => {
  const webgpu = webgpuForSuite();

  it("matches the CPU backend's logits, masked loss and every gradient", async (context) => {
    const gpu = webgpu.get(context);
    const cpu = await forwardBackward(config, getBackend());
    const onGpu = await forwardBackward(config, gpu);
    expectClose(realTokenLogits(onGpu.logits), realTokenLogits(cpu.logits), 'logits');
    expectClose([onGpu.loss], [cpu.loss], 'loss');
    for (const [name, grad] of cpu.grads) expectClose(onGpu.grads.get(name)!, grad, `${name}.grad`);
  });

  it('decodes with a KV cache as a full forward pass does', async (context) => {
    const { cached, full } = await cachedAndFull(config, webgpu.get(context));
    expectClose(cached, full, 'cached logits');
  });
});
