/**
 * Tokens per second of one full training step (forward, backward, AdamW update) of llama_small on
 * our CPU backend, next to the same LLaMA built from TensorFlow.js ops on @tensorflow/tfjs-backend-wasm
 * (gradients by tf.variableGrads, update by tf.train.adam), same shapes, in one process. The tfjs
 * embedding is a one-hot matmul (the wasm backend cannot differentiate gather).
 * Run by hand: `npx tsx bench/train-step.ts`.
 * Options: BATCH=4 SEQ=128 STEPS=5 (timed steps per library, interleaved; the median is reported)
 *          MODEL=llama_small (any preset that fits in memory).
 *
 * A step ends when the loss has been read back, so neither side can leave work pending. Steps of
 * the two libraries alternate so that load from other processes hits both alike; besides wall
 * time, the table gives tokens per second of this process's CPU time (user + system), which stays
 * meaningful on a shared machine when both sides run single-threaded.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import { build } from 'esbuild';
import {
  AdamW,
  type LlamaConfig,
  LlamaForCausalLM,
  llamaPreset,
  manualSeed,
  nextTokenLoss,
  type TokenBatch,
} from '../packages/core/src/index.js';

const BATCH = Number(process.env.BATCH ?? 4);
const SEQ = Number(process.env.SEQ ?? 128);
const STEPS = Number(process.env.STEPS ?? 5);
const MODEL = process.env.MODEL ?? 'llama_small';

interface Timing {
  wallMs: number;
  cpuMs: number;
}

type Step = () => Promise<number>;

/** Random token rows [BATCH, SEQ + 1] (inputs and shifted targets). */
function randomBatch(vocab: number): TokenBatch {
  const tokens = Int32Array.from({ length: BATCH * (SEQ + 1) }, () => Math.floor(Math.random() * vocab));
  return { tokens, shape: [BATCH, SEQ + 1] };
}

// --- ours ---

function oursStep(config: LlamaConfig, batch: TokenBatch): { step: Step; parameters: number } {
  manualSeed(0);
  const model = new LlamaForCausalLM(config);
  const optimizer = new AdamW(model.parameters(), { lr: 1e-4, weightDecay: 0 });
  const step: Step = async () => {
    const loss = nextTokenLoss(model, batch);
    loss.backward();
    const value = await loss.item();
    loss.dispose();
    optimizer.step();
    optimizer.zeroGrad();
    return value;
  };
  return { step, parameters: model.numParameters() };
}

// --- TensorFlow.js ---

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
function tfjsStep(config: LlamaConfig, batch: TokenBatch): Step {
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

// --- timing ---

async function timed(step: Step): Promise<Timing & { loss: number }> {
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  const loss = await step();
  const wallMs = performance.now() - start;
  const cpu = process.cpuUsage(cpu0);
  return { wallMs, cpuMs: (cpu.user + cpu.system) / 1000, loss };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
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

async function main(): Promise<void> {
  await registerTfjsGradients();
  const wasmPackage = createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm/package.json');
  setWasmPaths(`${join(dirname(wasmPackage), 'dist')}/`);
  if (!(await tf.setBackend('wasm'))) throw new Error('tfjs-backend-wasm failed to initialise');
  await tf.ready();
  const threads = tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT');
  const simd = tf.env().getBool('WASM_HAS_SIMD_SUPPORT');

  const config = llamaPreset(MODEL);
  const batch = randomBatch(config.vocab_size);
  const ours = oursStep(config, batch);
  const theirs = tfjsStep(config, batch);
  const tokens = BATCH * SEQ;
  console.log(
    `${MODEL} (${(ours.parameters / 1e6).toFixed(1)}M parameters), batch ${BATCH} x ${SEQ} tokens, AdamW; ` +
      `tfjs-backend-wasm (simd ${simd ? 'on' : 'off'}, threads ${threads ? 'on' : 'off'}); ${STEPS} timed steps each after 2 warm-up steps`,
  );
  const results = { ours: [] as Timing[], tfjs: [] as Timing[] };
  const losses = { ours: [] as number[], tfjs: [] as number[] };
  for (let round = 0; round < STEPS + 2; round++) {
    for (const [name, step] of [
      ['ours', ours.step],
      ['tfjs', theirs],
    ] as const) {
      const t = await timed(step);
      losses[name].push(t.loss);
      if (round >= 2) results[name].push(t);
      process.stderr.write(`  round ${round} ${name}: ${t.wallMs.toFixed(0)} ms (loss ${t.loss.toFixed(4)})\n`);
    }
  }
  console.log(
    `\n${'library'.padEnd(28)}${'ms/step'.padStart(10)}${'tokens/s'.padStart(11)}${'tokens/cpu-s'.padStart(14)}   losses`,
  );
  for (const name of ['ours', 'tfjs'] as const) {
    const wall = median(results[name].map((t) => t.wallMs));
    const cpu = median(results[name].map((t) => t.cpuMs));
    const label = name === 'ours' ? 'galore-ts CPU backend' : 'tfjs-backend-wasm';
    const trace = `${losses[name][0]!.toFixed(3)} -> ${losses[name].at(-1)!.toFixed(3)}`;
    console.log(
      `${label.padEnd(28)}${wall.toFixed(0).padStart(10)}${((tokens / wall) * 1000).toFixed(0).padStart(11)}${((tokens / cpu) * 1000).toFixed(0).padStart(14)}   ${trace}`,
    );
  }
}

await main();
