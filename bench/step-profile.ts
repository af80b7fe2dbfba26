/**
 * Where one LLaMA training step (forward, backward, AdamW) spends its time on the CPU backend:
 * milliseconds per step in each kernel (matmuls keyed by shape, elementwise ops by op and shape),
 * and what is left outside kernels (autograd, allocation, dispatch). It has no peer: it says which
 * kernel to work on; `npm run bench:train-step` says how far from PyTorch the whole step is.
 * Run by hand: `npm run bench:step-profile`.
 * Options: MODEL=llama_tiny BATCH=8 SEQ=64 STEPS=10 (timed steps, after 2 warm-up steps), TOP=40 (rows)
 */
import {
  AdamW,
  type CpuBackend,
  getBackend,
  LlamaForCausalLM,
  llamaPreset,
  manualSeed,
  nextTokenLoss,
} from '../packages/core/src/index.js';

const MODEL = process.env.MODEL ?? 'llama_tiny';
const BATCH = Number(process.env.BATCH ?? 8);
const SEQ = Number(process.env.SEQ ?? 64);
const STEPS = Number(process.env.STEPS ?? 10);
const TOP = Number(process.env.TOP ?? 40);

type Kernel = (io: Record<string, unknown>, params: Record<string, unknown>) => void;

/** The row a kernel call is counted under: its name, plus the shape that sets its cost. */
function keyOf(name: string, params: Record<string, unknown>): string {
  if (name === 'matmul') {
    const { batch, m, n, k, transA, transB } = params;
    return `matmul ${batch}x[${m}x${k}]${transA ? 'ᵀ' : ''}·[${k}x${n}]${transB ? 'ᵀ' : ''}`;
  }
  if ('op' in params) return `${name}(${String(params.op)}) [${String(params.shape ?? '')}]`;
  if (name === 'copy') {
    const view = params.srcView as { shape: number[]; strides: number[] };
    return `copy [${view.shape}] strides [${view.strides}]`;
  }
  return name;
}

const backend = getBackend() as CpuBackend;
const totals = new Map<string, { calls: number; ms: number }>();
let timing = false;
// The kernel table is the backend's one dispatch point, so wrapping its entries sees every kernel.
const kernels = (backend as unknown as { kernels: Record<string, Kernel> }).kernels;
for (const [name, kernel] of Object.entries(kernels)) {
  kernels[name] = (io, params) => {
    if (!timing) return kernel(io, params);
    const start = performance.now();
    kernel(io, params);
    const key = keyOf(name, params);
    const total = totals.get(key) ?? { calls: 0, ms: 0 };
    total.calls++;
    total.ms += performance.now() - start;
    totals.set(key, total);
  };
}

const config = llamaPreset(MODEL);
manualSeed(0);
const model = new LlamaForCausalLM(config);
const optimizer = new AdamW(model.parameters(), { lr: 1e-4, weightDecay: 0 });
const tokens = Int32Array.from({ length: BATCH * (SEQ + 1) }, () => Math.floor(Math.random() * config.vocab_size));
const batch = { tokens, shape: [BATCH, SEQ + 1] as [number, number] };

async function step(): Promise<void> {
  const loss = nextTokenLoss(model, batch);
  loss.backward();
  await loss.item();
  loss.dispose();
  optimizer.step();
  optimizer.zeroGrad();
}

for (let i = 0; i < 2; i++) await step();
timing = true;
const start = performance.now();
for (let i = 0; i < STEPS; i++) await step();
const stepMs = (performance.now() - start) / STEPS;
timing = false;

const rows = [...totals].sort((a, b) => b[1].ms - a[1].ms);
const inKernels = rows.reduce((sum, [, t]) => sum + t.ms, 0) / STEPS;
console.log(`${MODEL}, ${BATCH} x ${SEQ}; GEMM: ${backend.gemm.summary}`);
console.log(
  `step ${stepMs.toFixed(1)} ms: kernels ${inKernels.toFixed(1)} ms, outside kernels ${(stepMs - inKernels).toFixed(1)} ms\n`,
);
console.log(`${'ms/step'.padStart(8)} ${'calls'.padStart(6)}  kernel`);
for (const [key, t] of rows.slice(0, TOP))
  console.log(`${(t.ms / STEPS).toFixed(2).padStart(8)} ${String(t.calls / STEPS).padStart(6)}  ${key}`);
