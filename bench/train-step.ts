/**
 * Tokens per second of one full LLaMA training step (forward, backward, AdamW update) on our CPU
 * backend, next to the same model in PyTorch (bench/torch_train_step.py, when a Python with torch
 * is found) and in TensorFlow.js on @tensorflow/tfjs-backend-wasm (bench/train-step-tfjs.ts),
 * same shapes, for llama_tiny (8 x 64 tokens) and llama_small (4 x 128).
 * Run by hand: `npm run bench:train-step`.
 * Options: STEPS=5 (timed steps per library; the median is reported)
 *          WARMUP=10 (untimed steps per library first: V8 compiles our hot functions in the
 *          background over the first few steps, so two warm-up steps still time the compiler)
 *          WORKLOADS=llama_tiny:8x64,llama_small:4x128 (preset:batch x seq)
 *          TFJS=0 (leave tfjs out: it takes ~20 s a step on llama_small), TORCH=0 (leave PyTorch out)
 *          PYTHON=/usr/bin/python3 (the Python with torch; python3 and /usr/bin/python3 are tried)
 *          THREADS=n (both sides on n threads: OPENBLAS_NUM_THREADS for ours and PyTorch's
 *          OpenBLAS, torch.set_num_threads; default: every core, each library's own default)
 *
 * A step ends when the loss has been read back, so no side can leave work pending. Steps of the
 * libraries alternate so that load from other processes hits all alike. Besides wall time, the
 * table gives tokens per second of CPU time (user + system, all threads of that library's process;
 * ours and tfjs share this process, but run one at a time).
 */
import {
  AdamW,
  type CpuBackend,
  getBackend,
  type LlamaConfig,
  LlamaForCausalLM,
  llamaPreset,
  manualSeed,
  nextTokenLoss,
  type TokenBatch,
} from '../packages/core/src/index.js';
import { describeTorch, findTorchPython, PythonWorker, type TorchInfo } from './python-worker.js';
import { type Step, startTfjsWasm, tfjsStep } from './train-step-tfjs.js';

/** A whole-number setting from the environment; anything else is refused by name. */
function countFromEnv(name: string, fallback: number | undefined, least: number): number | undefined {
  const setting = process.env[name];
  if (setting === undefined || setting === '') return fallback;
  if (!/^\d+$/.test(setting) || Number(setting) < least)
    throw new Error(`${name} must be a whole number of at least ${least}; got '${setting}'`);
  return Number(setting);
}

const STEPS = countFromEnv('STEPS', 5, 1) as number;
const WARMUP = countFromEnv('WARMUP', 10, 0) as number;
const WORKLOADS = (process.env.WORKLOADS ?? 'llama_tiny:8x64,llama_small:4x128').split(',').map((spec) => {
  const [model, shape] = spec.split(':') as [string, string];
  const [batch, seq] = shape.split('x').map(Number) as [number, number];
  return { model, batch, seq };
});
const WITH_TFJS = process.env.TFJS !== '0';
const THREADS = countFromEnv('THREADS', undefined, 1);
// OpenBLAS reads this when it is loaded (our first matmul; PyTorch's start), so set it first.
if (THREADS) process.env.OPENBLAS_NUM_THREADS = String(THREADS);

const LIBRARIES = ['ours', 'torch', 'tfjs'] as const;
type Library = (typeof LIBRARIES)[number];
const LABELS: Record<Library, string> = {
  ours: 'galore-ts CPU',
  torch: 'PyTorch',
  tfjs: 'tfjs-backend-wasm',
};

interface Timing {
  wallMs: number;
  cpuMs: number;
  loss: number;
}
type Runner = () => Promise<Timing>;

/** Random token rows [batch, seq + 1] (inputs and shifted targets). */
function randomBatch(vocab: number, batch: number, seq: number): TokenBatch {
  const tokens = Int32Array.from({ length: batch * (seq + 1) }, () => Math.floor(Math.random() * vocab));
  return { tokens, shape: [batch, seq + 1] };
}

function oursStep(config: LlamaConfig, batch: TokenBatch): Step {
  manualSeed(0);
  const model = new LlamaForCausalLM(config);
  const optimizer = new AdamW(model.parameters(), { lr: 1e-4, weightDecay: 0 });
  return async () => {
    const loss = nextTokenLoss(model, batch);
    loss.backward();
    const value = await loss.item();
    loss.dispose();
    optimizer.step();
    optimizer.zeroGrad();
    return value;
  };
}

/** Times an in-process step by wall clock and this process's CPU time. */
function inProcess(step: Step): Runner {
  return async () => {
    const cpu0 = process.cpuUsage();
    const start = performance.now();
    const loss = await step();
    const wallMs = performance.now() - start;
    const cpu = process.cpuUsage(cpu0);
    return { wallMs, cpuMs: (cpu.user + cpu.system) / 1000, loss };
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

interface Row {
  workload: string;
  tokens: number;
  rates: Partial<Record<Library, { wall: number; cpu: number }>>;
}

async function benchWorkload(model: string, batchSize: number, seq: number, python: string | null): Promise<Row> {
  const config = llamaPreset(model);
  const batch = randomBatch(config.vocab_size, batchSize, seq);
  const runners: Partial<Record<Library, Runner>> = { ours: inProcess(oursStep(config, batch)) };
  let torch: PythonWorker<TorchInfo> | undefined;
  if (python) {
    const worker = await PythonWorker.start<TorchInfo>(python, 'torch_train_step.py', [
      JSON.stringify({ ...config, batch: batchSize, seq, threads: THREADS }),
    ]);
    runners.torch = async () => {
      const { loss, wall_ms, cpu_ms } = await worker.request<{ loss: number; wall_ms: number; cpu_ms: number }>('step');
      return { loss, wallMs: wall_ms, cpuMs: cpu_ms };
    };
    console.log(`  ${describeTorch(worker.info)}`);
    torch = worker;
  }
  if (WITH_TFJS) runners.tfjs = inProcess(tfjsStep(config, batch));
  const times: Record<Library, Timing[]> = { ours: [], torch: [], tfjs: [] };
  for (let round = 0; round < STEPS + WARMUP; round++) {
    for (const library of LIBRARIES) {
      const run = runners[library];
      if (!run) continue;
      const t = await run();
      if (round >= WARMUP) times[library].push(t);
      process.stderr.write(
        `  ${model} round ${round} ${library}: ${t.wallMs.toFixed(0)} ms (loss ${t.loss.toFixed(4)})\n`,
      );
    }
  }
  torch?.stop();
  const tokens = batchSize * seq;
  const rates: Row['rates'] = {};
  for (const library of LIBRARIES) {
    const ts = times[library];
    if (ts.length === 0) continue;
    rates[library] = {
      wall: (tokens / median(ts.map((t) => t.wallMs))) * 1000,
      cpu: (tokens / median(ts.map((t) => t.cpuMs))) * 1000,
    };
  }
  return { workload: `${model}, ${batchSize} x ${seq}`, tokens, rates };
}

function printTable(rows: Row[], pick: 'wall' | 'cpu'): void {
  const header = ['model, tokens/step', ...LIBRARIES.map((l) => LABELS[l]), 'ours / PyTorch'];
  const cells = rows.map((row) => {
    const rate = (l: Library) => row.rates[l]?.[pick];
    const ours = rate('ours');
    const torch = rate('torch');
    return [
      row.workload,
      ...LIBRARIES.map((l) => (rate(l) === undefined ? '-' : rate(l)!.toFixed(0))),
      ours !== undefined && torch !== undefined ? `${(ours / torch).toFixed(2)}x` : '-',
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => c.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)));
  console.log(line(header).join('  '));
  for (const c of cells) console.log(line(c).join('  '));
}

async function main(): Promise<void> {
  const python = findTorchPython();
  const wasm = WITH_TFJS ? await startTfjsWasm() : undefined;
  console.log(`galore-ts GEMM: ${(getBackend() as CpuBackend).gemm.summary}`);
  console.log(python ? `PyTorch from ${python}` : 'PyTorch: no Python with torch found (set PYTHON); left out');
  if (wasm) console.log(`tfjs-backend-wasm: simd ${wasm.simd ? 'on' : 'off'}, threads ${wasm.threads ? 'on' : 'off'}`);
  console.log(`AdamW steps; median of ${STEPS} alternating timed steps per library after ${WARMUP} warm-up steps\n`);
  const rows: Row[] = [];
  for (const { model, batch, seq } of WORKLOADS) {
    console.log(model);
    rows.push(await benchWorkload(model, batch, seq, python));
  }
  console.log('\ntokens/s (wall clock)');
  printTable(rows, 'wall');
  console.log('\ntokens per CPU-second (all threads of the process)');
  printTable(rows, 'cpu');
}

await main();
