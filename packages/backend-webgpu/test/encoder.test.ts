/**
 * RoBERTa and BERT sequence classification on WebGPU against the CPU backend (which core's tests
 * check against the float64 reference), through the fused layerNorm and gelu kernels: logits, loss
 * and every parameter's gradient on a batch with padding. Both backends start from the same
 * float32 weights; they differ only by float32 rounding in another order.
 */
import { type Backend, EncoderForSequenceClassification, encoderConfig, getBackend, tensor } from '@galore-ts/core';
import { describe, it } from 'vitest';
import { withBackend } from '../../../test/llama-curve.js';
import { randomize } from '../../core/test/models/decoder-family-cases.js';
import { TINY_ENCODER, TINY_ENCODER_BATCH } from '../../core/test/models/tiny-encoder.js';
import { expectClose } from './compare.js';
import { webgpuForSuite } from './open.js';
import { backwardPass } from './pass.js';

const TOLERANCE = { abs: 1e-5, rel: 1e-4 };
const { ids: IDS, mask: MASK } = TINY_ENCODER_BATCH;

function config(type: 'roberta' | 'bert') {
  return encoderConfig({
    ...TINY_ENCODER,
    model_type: type,
    // No dropout: the two backends would draw different masks.
    hidden_dropout_prob: 0,
    attention_probs_dropout_prob: 0,
    pad_token_id: 1,
    id2label: { 0: 'no', 1: 'yes' },
  });
}

async function forwardBackward(type: 'roberta' | 'bert', backend: Backend) {
  return withBackend(backend, async () => {
    const model = new EncoderForSequenceClassification(config(type), { dtype: 'float32', backend });
    randomize(model);
    const { logits, loss } = model.forward(tensor(IDS, { dtype: 'int32' }), {
      attentionMask: tensor(MASK, { dtype: 'int32' }),
      labels: [1, 0],
    });
    return backwardPass(model, logits, loss!);
  });
}

describe.each(['roberta', 'bert'] as const)('%s sequence classification on WebGPU', (type) => {
  const webgpu = webgpuForSuite();

  it("matches the CPU backend's logits, loss and every gradient", async (context) => {
    const gpu = webgpu.get(context);
    const cpu = await forwardBackward(type, getBackend());
    const onGpu = await forwardBackward(type, gpu);
    expectClose(onGpu.logits, cpu.logits, 'logits', TOLERANCE);
    expectClose([onGpu.loss], [cpu.loss], 'loss', TOLERANCE);
    for (const [name, grad] of cpu.grads) expectClose(onGpu.grads.get(name)!, grad, `${name}.grad`, TOLERANCE);
  });
});
