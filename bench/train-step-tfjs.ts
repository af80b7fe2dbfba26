/**
 * The LLaMA training step of bench/train-step.ts built from TensorFlow.js ops, for
 * @tensorflow/tfjs-backend-wasm: weights stored [in, out], gradients by tf.variableGrads, update by
 * tf.train.adam. The embedding is a one-hot matmul (the wasm backend cannot differentiate gather).
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import { build } from 'esbuild';
import type { LlamaConfig, TokenBatch } from '../packages/core/src/index.js';

export type Step = () => Promise<number>;

interface TfLayer {
  inputNorm: tf.Variable;
  wq: tf.Variable;
  wk: tf.Variable;
  wv: tf.Variable;
  wo: tf.Variable;
  postNorm: tf.Variable;
  gate: tf.Variable;
  up: tf.Variable;
  down: tf.Variable;
}

/** The same LLaMA in tfjs ops: weights stored [in, out], RMSNorm, rotate-half RoPE, causal softmax attention, SwiGLU. */
export function tfjsStep(config: LlamaConfig, batch: TokenBatch): Step {
  const [BATCH, seqPlusOne] = batch.shape as [number, number];
  const SEQ = seqPlusOne - 1;
  const {
    hidden_size: H,
    intermediate_size: I,
    vocab_size: V,
    num_attention_heads: heads,
    num_hidden_layers: L,
  } = config;
  const hd = H / heads;
  const std = config.initializer_range;
  const weight = (shape: number[]) => tf.variable(tf.randomNormal(shape, 0, std));
  const ones = (n: number) => tf.variable(tf.ones([n]));
  const embed = weight([V, H]);
  const layers: TfLayer[] = Array.from({ length: L }, () => ({
    inputNorm: ones(H),
    wq: weight([H, H]),
    wk: weight([H, H]),
    wv: weight([H, H]),
    wo: weight([H, H]),
    postNorm: ones(H),
    gate: weight([H, I]),
    up: weight([H, I]),
    down: weight([I, H]),
  }));
  const finalNorm = ones(H);
  const head = weight([H, V]);

  // RoPE tables [SEQ, hd / 2] and the additive causal mask [SEQ, SEQ], made once.
  const half = hd / 2;
  const inv = Float32Array.from({ length: half }, (_, i) => 1 / config.rope_theta ** ((2 * i) / hd));
  const angles = Float32Array.from({ length: SEQ * half }, (_, k) => Math.floor(k / half) * inv[k % half]!);
  const cos = tf.keep(tf.cos(tf.tensor2d(angles, [SEQ, half])));
  const sin = tf.keep(tf.sin(tf.tensor2d(angles, [SEQ, half])));
  const mask = tf.keep(
    tf.tensor2d(
      Float32Array.from({ length: SEQ * SEQ }, (_, k) => (k % SEQ > Math.floor(k / SEQ) ? -1e9 : 0)),
      [SEQ, SEQ],
    ),
  );

  const rows = BATCH * SEQ;
  const inputs = new Int32Array(rows);
  const targets = new Int32Array(rows);
  for (let r = 0; r < BATCH; r++) {
    inputs.set(batch.tokens.subarray(r * (SEQ + 1), r * (SEQ + 1) + SEQ), r * SEQ);
    targets.set(batch.tokens.subarray(r * (SEQ + 1) + 1, (r + 1) * (SEQ + 1)), r * SEQ);
  }
  // tfjs-backend-wasm lacks UnsortedSegmentSum, the gradient of gather: the embedding is a one-hot
  // product instead (rows x vocab x hidden multiply-adds, small next to the layers at vocab 258).
  const inputOneHot = tf.keep(tf.cast(tf.oneHot(tf.tensor1d(inputs, 'int32'), V), 'float32'));
  const labels = tf.keep(tf.oneHot(tf.tensor1d(targets, 'int32'), V));

  const rmsNorm = (x: tf.Tensor2D, w: tf.Variable) =>
    tf.mul(tf.mul(x, tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), config.rms_norm_eps))), w) as tf.Tensor2D;
  /** [rows, H] -> [BATCH, heads, SEQ, hd], rotated when `rotate`. */
  const toHeads = (x: tf.Tensor2D, rotate: boolean) => {
    const t = tf.transpose(tf.reshape(x, [BATCH, SEQ, heads, hd]), [0, 2, 1, 3]) as tf.Tensor4D;
    if (!rotate) return t;
    const [x1, x2] = tf.split(t, 2, 3);
    const c = tf.reshape(cos, [1, 1, SEQ, half]);
    const s = tf.reshape(sin, [1, 1, SEQ, half]);
    return tf.concat(
      [tf.sub(tf.mul(x1!, c), tf.mul(x2!, s)), tf.add(tf.mul(x2!, c), tf.mul(x1!, s))],
      3,
    ) as tf.Tensor4D;
  };
  const lossFn = () => {
    let x = tf.matMul(inputOneHot, embed) as tf.Tensor2D;
    for (const layer of layers) {
      const h = rmsNorm(x, layer.inputNorm);
      const q = toHeads(tf.matMul(h, layer.wq), true);
      const k = toHeads(tf.matMul(h, layer.wk), true);
      const v = toHeads(tf.matMul(h, layer.wv), false);
      const scores = tf.add(tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(hd)), mask);
      const attended = tf.matMul(tf.softmax(scores), v);
      const merged = tf.reshape(tf.transpose(attended, [0, 2, 1, 3]), [rows, H]) as tf.Tensor2D;
      x = tf.add(x, tf.matMul(merged, layer.wo));
      const m = rmsNorm(x, layer.postNorm);
      const g = tf.matMul(m, layer.gate);
      const gated = tf.mul(tf.mul(g, tf.sigmoid(g)), tf.matMul(m, layer.up));
      x = tf.add(x, tf.matMul(gated as tf.Tensor2D, layer.down));
    }
    const logits = tf.matMul(rmsNorm(x, finalNorm), head);
    return tf.losses.softmaxCrossEntropy(labels, logits) as tf.Scalar;
  };
  const optimizer = tf.train.adam(1e-4);
  return async () => {
    const { value, grads } = tf.variableGrads(lossFn);
    optimizer.applyGradients(grads as tf.NamedTensorMap as Parameters<typeof optimizer.applyGradients>[0]);
    const loss = (await value.data())[0]!;
    value.dispose();
    tf.dispose(grads);
    return loss;
  };
}

/**
 * tfjs-core's gradient functions ship only as ES modules with directory imports, which Node cannot
 * load (the tfjs umbrella package bundles them). Bundle that one entry with esbuild (installed with
 * tsup) and import it; tfjs keeps its engine and gradient registry on globalThis, so the bundled
 * copy registers into the engine the wasm backend uses.
 */
async function registerTfjsGradients(): Promise<void> {
  const entry = createRequire(import.meta.url).resolve('@tensorflow/tfjs-core/dist/register_all_gradients.js');
  const bundle = await build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'node',
    logLevel: 'silent',
  });
  await import(`data:text/javascript;base64,${Buffer.from(bundle.outputFiles[0]!.text).toString('base64')}`);
}

/** Starts tfjs-backend-wasm; returns whether it runs with SIMD and threads. */
export async function startTfjsWasm(): Promise<{ simd: boolean; threads: boolean }> {
  await registerTfjsGradients();
  const wasmPackage = createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm/package.json');
  setWasmPaths(`${join(dirname(wasmPackage), 'dist')}/`);
  if (!(await tf.setBackend('wasm'))) throw new Error('tfjs-backend-wasm failed to initialise');
  await tf.ready();
  return { simd: tf.env().getBool('WASM_HAS_SIMD_SUPPORT'), threads: tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT') };
}
