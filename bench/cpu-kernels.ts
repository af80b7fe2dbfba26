/**
 * Milliseconds per call of the CPU backend's memory-bound float32 kernels at one model's shapes:
 * MODEL=llama_small (the default: 4 x 128 tokens, hidden 384, intermediate 1024, 6 heads; AdamW
 * over 1.77M values, one layer's weights) or MODEL=llama_tiny (8 x 64 tokens, hidden 128,
 * intermediate 352, 2 heads). Median of REPS calls after warm-up. Run by hand:
 * `npm run bench:cpu-kernels`; SIMD=0 forces the JS loops where a kernel has a WebAssembly SIMD path.
 */
import { CpuBackend, type CpuStorage } from '../packages/core/src/backends/cpu/index.js';

const REPS = Number(process.env.REPS ?? 30);
// SIMD=0 runs the JS loops of the kernels that have a WebAssembly SIMD path.
const backend = new CpuBackend({ simd: process.env.SIMD !== '0' });
const SHAPES = {
  llama_small: { batch: 4, seq: 128, hidden: 384, inter: 1024, heads: 6 },
  llama_tiny: { batch: 8, seq: 64, hidden: 128, inter: 352, heads: 2 },
};
const MODEL = process.env.MODEL ?? 'llama_small';
if (!(MODEL in SHAPES)) throw new Error(`MODEL must be one of ${Object.keys(SHAPES).join(', ')}; got ${MODEL}`);
const { batch: BATCH, seq: SEQ, hidden: HIDDEN, inter: INTER, heads: HEADS } = SHAPES[MODEL as keyof typeof SHAPES];
const TOKENS = BATCH * SEQ;
const HEAD_DIM = HIDDEN / HEADS;

function filled(size: number, seed: number): CpuStorage {
  const s = backend.alloc(size, 'float32', 'other');
  const data = s.data as Float32Array;
  let state = seed >>> 0;
  for (let i = 0; i < size; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    data[i] = (state / 2 ** 32) * 2 - 1;
  }
  return s;
}

function median(run: () => void): number {
  for (let i = 0; i < 5; i++) run();
  const times: number[] = [];
  for (let i = 0; i < REPS; i++) {
    const start = performance.now();
    run();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)] as number;
}

function call(name: string, io: object, params: object): void {
  backend.run(name, io as never, params as never);
}
const mlp = TOKENS * INTER;
const [gate, up, dy, out, dgate, dup] = [1, 2, 3, 4, 5, 6].map((seed) => filled(mlp, seed)) as CpuStorage[];
const hiddenSize = TOKENS * HIDDEN;
const [x, hdy, hout, hdx] = [7, 8, 9, 10].map((seed) => filled(hiddenSize, seed)) as CpuStorage[];
const [weight, dweight] = [filled(HIDDEN, 11), filled(HIDDEN, 12)];
const rstd = filled(TOKENS, 13);
const [cos, sin] = [filled(SEQ * (HEAD_DIM / 2), 14), filled(SEQ * (HEAD_DIM / 2), 15)];
const PARAMS = 4 * HIDDEN * HIDDEN + 3 * HIDDEN * INTER;
const [p, g, m, v] = [16, 17, 18, 19].map((seed) => filled(PARAMS, seed)) as [
  CpuStorage,
  CpuStorage,
  CpuStorage,
  CpuStorage,
];
for (const s of [m, v]) (s.data as Float32Array).fill(0.01);
const adamParams = {
  lr: 1e-4,
  beta1: 0.9,
  beta2: 0.999,
  eps: 1e-8,
  weightDecay: 0.01,
  biasCorrection1: 0.1,
  biasCorrection2: 0.01,
};
const mlpLayout = { shape: [TOKENS, INTER], aStrides: [INTER, 1], bStrides: [INTER, 1] };
const rows = { rows: TOKENS, cols: HIDDEN, eps: 1e-6 };
const ropeParams = { batch: BATCH, seq: SEQ, heads: HEADS, headDim: HEAD_DIM, inverse: false };
// The LM head's logits over the byte vocabulary (258 classes), one row per token, every 8th ignored.
const VOCAB = 258;
const logits = filled(TOKENS * VOCAB, 20);
const dlogits = filled(TOKENS * VOCAB, 21);
const [loss, dloss] = [filled(TOKENS, 22), filled(TOKENS, 23)];
const targets = backend.alloc(TOKENS, 'int32', 'other');
(targets.data as Int32Array).forEach((_, r, t) => {
  t[r] = r % 8 === 7 ? -100 : (r * 97) % VOCAB;
});
const ceParams = { rows: TOKENS, cols: VOCAB, ignoreIndex: -100 };
// Causal attention scores of one layer, [batch, heads, seq, seq] as rows of seq.
const scores = filled(BATCH * HEADS * SEQ * SEQ, 24);
const [probs, dprobs, dscores] = [25, 26, 27].map((seed) => filled(scores.size, seed)) as CpuStorage[];
const scoreRows = { rows: BATCH * HEADS * SEQ, cols: SEQ };
const ids = backend.alloc(TOKENS, 'int32', 'other');
(ids.data as Int32Array).forEach((_, i, d) => {
  d[i] = (i * 131) % VOCAB;
});
const embeddings = filled(VOCAB * HIDDEN, 28);

const results: [string, number, number][] = [
  ['siluMul', mlp, median(() => call('siluMul', { gate, up, out }, {}))],
  ['siluMulBackward', mlp, median(() => call('siluMulBackward', { gate, up, dy, dgate, dup }, {}))],
  ['rmsNorm', hiddenSize, median(() => call('rmsNorm', { x, weight, out: hout, rstd }, rows))],
  [
    'rmsNormBackward',
    hiddenSize,
    median(() => call('rmsNormBackward', { x, weight, rstd, dy: hdy, dx: hdx, dweight }, rows)),
  ],
  ['rope', hiddenSize, median(() => call('rope', { x, cos, sin, out: hout }, ropeParams))],
  [
    'rope inverse',
    hiddenSize,
    median(() => call('rope', { x, cos, sin, out: hout }, { ...ropeParams, inverse: true })),
  ],
  ['binary add', mlp, median(() => call('binary', { a: gate, b: up, out }, { op: 'add', ...mlpLayout }))],
  ['binary mul', mlp, median(() => call('binary', { a: gate, b: up, out }, { op: 'mul', ...mlpLayout }))],
  [
    'binary add row',
    hiddenSize,
    median(() =>
      call(
        'binary',
        { a: x, b: weight, out: hout },
        { op: 'add', shape: [TOKENS, HIDDEN], aStrides: [HIDDEN, 1], bStrides: [0, 1] },
      ),
    ),
  ],
  // The attention head split: [batch, seq, heads, headDim] read as [batch, heads, seq, headDim].
  [
    'copy head split',
    hiddenSize,
    median(() =>
      call(
        'copy',
        { src: x, dst: hout },
        {
          srcView: { shape: [BATCH, HEADS, SEQ, HEAD_DIM], strides: [SEQ * HIDDEN, HEAD_DIM, HIDDEN, 1], offset: 0 },
          dstView: {
            shape: [BATCH, HEADS, SEQ, HEAD_DIM],
            strides: [SEQ * HIDDEN, SEQ * HEAD_DIM, HEAD_DIM, 1],
            offset: 0,
          },
        },
      ),
    ),
  ],
  ['adamw', PARAMS, median(() => call('adamw', { param: p, grad: g, m, v }, adamParams))],
  ['crossEntropy', TOKENS * VOCAB, median(() => call('crossEntropy', { logits, targets, loss }, ceParams))],
  [
    'crossEntropyBackward',
    TOKENS * VOCAB,
    median(() => call('crossEntropyBackward', { logits, targets, dloss, dx: dlogits }, ceParams)),
  ],
  [
    'softmax causal',
    scores.size,
    median(() => call('softmax', { x: scores, out: probs }, { ...scoreRows, causal: { queryLen: SEQ, offset: 0 } })),
  ],
  ['logSoftmax', scores.size, median(() => call('logSoftmax', { x: scores, out: probs }, scoreRows))],
  [
    'softmaxBackward',
    scores.size,
    median(() => call('softmaxBackward', { y: probs, dy: dprobs, dx: dscores }, scoreRows)),
  ],
  [
    'logSoftmaxBackward',
    scores.size,
    median(() => call('logSoftmaxBackward', { y: scores, dy: dprobs, dx: dscores }, scoreRows)),
  ],
  ['gatherRows', hiddenSize, median(() => call('gatherRows', { table: embeddings, ids, out: hout }, { dim: HIDDEN }))],
  [
    'scatterAddRows',
    hiddenSize,
    median(() => call('scatterAddRows', { src: hdy, ids, out: embeddings }, { dim: HIDDEN })),
  ],
];
console.log(`${MODEL}: kernel, elements, ms per call (median), ns per element`);
for (const [name, size, ms] of results)
  console.log(
    `${name.padEnd(20)} ${String(size).padStart(9)} ${ms.toFixed(3).padStart(8)} ${((ms * 1e6) / size).toFixed(2).padStart(6)}`,
  );
