/**
 * The LLaMA model end to end on a CUDA device, against two references:
 *  - a float32 forward pass (GQA, tied and untied head) against core's from-the-definition float64
 *    LLaMA (packages/core/test/models/llama-reference.ts): logits and the shifted loss;
 *  - 20 AdamW steps (float32) and 5 steps of 8-bit GaLore with per-layer updates (bfloat16) against
 *    the CPU backend's loss curve from the same seed. Both build the model right after the same
 *    manualSeed, so Philox gives identical weights; the curves then differ by float32 (bf16)
 *    rounding in another accumulation order, which a wrong kernel or gradient far exceeds (the
 *    loss falls from 5.5 to about 1.7 over the 20 steps).
 * Without a device the suite skips with the reason; GALORE_REQUIRE_CUDA=1 makes that a failure
 * (scripts/gpu-check.sh sets it on a GPU machine).
 */
import { type Backend, CpuBackend, LlamaForCausalLM, manualSeed, type Tensor, tensor, tidy } from '@galore-ts/core';
import { createOptimizer } from '@galore-ts/galore';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adamwCurve, CURVE_CONFIG, curveBatchIds, expectLossesClose, withBackend } from '../../../test/llama-curve.js';
import {
  REFERENCE_IDS,
  REFERENCE_LABELS,
  REFERENCE_MODEL,
  referenceOutputs,
} from '../../core/test/models/llama-reference.js';
import { createCudaBackend, cudaStatus } from '../src/index.js';

const required = process.env.GALORE_REQUIRE_CUDA === '1';
const status = cudaStatus();
const skipReason =
  status.deviceCount > 0
    ? null
    : `no CUDA device (${status.reason ?? 'unknown'}); set GALORE_REQUIRE_CUDA=1 to fail instead`;
if (skipReason && !required) console.warn(`[backend-cuda] skipping the LLaMA tests on CUDA: ${skipReason}`);

async function nested(t: Tensor): Promise<number[][][]> {
  const [b, s, v] = t.shape as [number, number, number];
  const flat = Float64Array.from((await t.data()) as ArrayLike<number>);
  return Array.from({ length: b }, (_, i) =>
    Array.from({ length: s }, (_, j) => Array.from(flat.subarray((i * s + j) * v, (i * s + j + 1) * v))),
  );
}

async function galoreLayerwiseLosses(backend: Backend, steps: number): Promise<number[]> {
  return withBackend(backend, async () => {
    manualSeed(12);
    const model = new LlamaForCausalLM(CURVE_CONFIG, { backend, dtype: 'bfloat16' });
    const { optimizer, layerwise } = createOptimizer('galore_adamw_8bit_layerwise', model.namedParameters(), {
      lr: 3e-3,
      rank: 16,
      updateProjGap: 2,
    });
    const ids = tensor(curveBatchIds(), { dtype: 'int32', backend });
    const losses: number[] = [];
    for (let step = 0; step < steps; step++) {
      const loss = tidy(() => model.forward(ids, { labels: ids }).loss as Tensor);
      layerwise?.backward(loss);
      losses.push(await loss.item());
      loss.dispose();
    }
    layerwise?.dispose();
    optimizer.dispose();
    model.dispose();
    ids.dispose();
    return losses;
  });
}

describe.skipIf(skipReason !== null && !required)('LLaMA on CUDA', () => {
  let cuda: Backend | undefined;
  const cpu = new CpuBackend();

  beforeAll(async () => {
    if (skipReason) throw new Error(`GALORE_REQUIRE_CUDA=1 but ${skipReason}`);
    cuda = await createCudaBackend();
  });
  afterAll(async () => {
    await cuda?.destroy?.();
  });

  for (const tied of [false, true]) {
    it(`matches the float64 reference: logits and shifted loss (GQA, tied=${tied})`, async () => {
      const backend = cuda as Backend;
      await withBackend(backend, async () => {
        manualSeed(3);
        const model = new LlamaForCausalLM({ ...REFERENCE_MODEL, tie_word_embeddings: tied }, { backend });
        const ids = REFERENCE_IDS;
        const labels = REFERENCE_LABELS;
        const { logits, loss } = model.forward(tensor(ids, { dtype: 'int32', backend }), {
          labels: tensor(labels, { dtype: 'int32', backend }),
        });
        const dict = model.stateDict();
        const weights = new Map<string, Float64Array>();
        for (const [name, t] of Object.entries(dict))
          weights.set(name, Float64Array.from((await t.data()) as ArrayLike<number>));
        const reference = referenceOutputs((name) => {
          const w = weights.get(name);
          if (!w) throw new Error(`no parameter ${name}`);
          return w;
        }, tied);
        const expected = reference.logits;
        const got = await nested(logits);
        let worst = 0;
        for (let b = 0; b < 2; b++)
          for (let s = 0; s < 5; s++)
            for (let v = 0; v < 11; v++)
              worst = Math.max(worst, Math.abs((got[b]?.[s]?.[v] as number) - (expected[b]?.[s]?.[v] as number)));
        expect(worst, 'largest logit difference from the float64 reference').toBeLessThan(1e-4);
        const lossValue = await (loss as Tensor).item();
        expect(Math.abs(lossValue - reference.loss)).toBeLessThan(1e-5);
        logits.dispose();
        loss?.dispose();
        model.dispose();
      });
    });
  }

  it("follows the CPU backend's AdamW loss curve over 20 steps (float32) within 1e-3 relative", async () => {
    const cpuLosses = await adamwCurve(cpu);
    const cudaLosses = await adamwCurve(cuda as Backend);
    expect(cudaLosses[19]).toBeLessThan(cudaLosses[0] as number);
    const worst = expectLossesClose(cudaLosses, cpuLosses, 1e-3, 'cuda');
    console.log(`[backend-cuda] AdamW curve: worst step differs by ${worst.toExponential(2)} relative`);
  });

  it("follows the CPU backend's 8-bit GaLore per-layer loss curve over 5 steps (bfloat16) within 2e-2", async () => {
    const cpuLosses = await galoreLayerwiseLosses(cpu, 5);
    const cudaLosses = await galoreLayerwiseLosses(cuda as Backend, 5);
    const worst = expectLossesClose(cudaLosses, cpuLosses, 2e-2, 'cuda');
    console.log(
      `[backend-cuda] 8-bit GaLore per-layer curve: worst step differs by ${worst.toExponential(2)} relative`,
    );
  });
});
