/**
 * LoRA with the library, in PEFT's format: adapters injected into llama_tiny's layers by PEFT
 * target names, trained with AdamW while every base weight stays frozen, saved as a PEFT adapter
 * folder (adapter_config.json + adapter_model.safetensors, which Python's `peft` loads), then folded
 * into the base weights and written as a plain Hugging Face folder that computes the same logits.
 *
 *   npx tsx examples/lora-peft.ts
 *   STEPS=200 RANK=16 TARGETS=q_proj,v_proj OUT=runs/lora npx tsx examples/lora-peft.ts
 *
 * Environment: DATA (a .txt file; default the CLI's tinyshakespeare excerpt), MODEL (llama_tiny),
 * STEPS (30), BATCH (4), SEQ (64), RANK (8), ALPHA (2 x rank), TARGETS (comma-separated PEFT
 * target_modules; default every attention and MLP projection), LR (1e-2), OUT (runs/example-lora).
 */
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  AdamW,
  AutoModelForCausalLM,
  ByteTokenizer,
  evaluate,
  fromRaw,
  LlamaForCausalLM,
  LoraModel,
  llamaPreset,
  manualSeed,
  noGrad,
  saveAdapter,
  TokenDataset,
  Trainer,
  type TrainSummary,
  tidy,
} from '@galore-ts/core';

const CORPUS = fileURLToPath(new URL('../packages/cli/corpus/tinyshakespeare-excerpt.txt', import.meta.url));
const DEFAULT_TARGETS = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'];

export interface LoraPeftOptions {
  data?: string;
  model?: string;
  steps?: number;
  batchSize?: number;
  seqLen?: number;
  rank?: number;
  alpha?: number;
  /** PEFT's target_modules: short module names (or a regular expression, or 'all-linear'). */
  targetModules?: string[] | string;
  lr?: number;
  /** Folder for `adapter/` (the PEFT folder) and `merged/` (the Hugging Face folder). */
  out?: string;
  log?: (line: string) => void;
}

export interface LoraPeftResult extends TrainSummary {
  /** Validation loss before training (adapters start as a no-op: B = 0). */
  initialValLoss: number;
  trainableParams: number;
  totalParams: number;
  /** Layers that got an adapter (model.layers.0.self_attn.q_proj, ...). */
  adaptedLayers: string[];
  adapterDir: string;
  mergedDir: string;
  /** Largest |logit| difference between the adapted model and the merged folder, reloaded. */
  mergedMaxAbsDiff: number;
}

export async function loraPeft(options: LoraPeftOptions = {}): Promise<LoraPeftResult> {
  const log = options.log ?? console.log;
  const out = options.out ?? 'runs/example-lora';
  const rank = options.rank ?? 8;
  manualSeed(0);
  // A pretrained base would come from LlamaForCausalLM.fromPretrained(folder); llama_tiny keeps this quick.
  const model = new LlamaForCausalLM(llamaPreset(options.model ?? 'llama_tiny'));
  const data = await TokenDataset.open({
    path: options.data ?? CORPUS,
    tokenizer: new ByteTokenizer(),
    seqLen: options.seqLen ?? 64,
    batchSize: options.batchSize ?? 4,
    seed: 0,
    validationSequences: 8,
  });
  // Wraps each matching Linear with lora_A / lora_B and freezes every other parameter.
  const lora = LoraModel.inject(model, {
    r: rank,
    loraAlpha: options.alpha ?? 2 * rank,
    targetModules: (options.targetModules ?? DEFAULT_TARGETS) as string[],
  });
  const params = [...model.parameters()];
  const totalParams = params.reduce((n, p) => n + p.size, 0);
  const trainableParams = params.filter((p) => p.requiresGrad).reduce((n, p) => n + p.size, 0);
  log(
    `LoRA r=${rank} on ${lora.layers.length} layers (${lora.targetNames().join(', ')}): ` +
      `${trainableParams} of ${totalParams} parameters train (${((100 * trainableParams) / totalParams).toFixed(2)}%)`,
  );

  const initialValLoss = (await evaluate(model, data.validationBatches())).loss;
  const steps = options.steps ?? 30;
  const trainer = new Trainer({
    model,
    // The Trainer hands the optimizer only the trainable parameters: the adapters.
    optimizer: (named) =>
      new AdamW(
        named.map(([, p]) => p),
        { lr: options.lr ?? 1e-2, weightDecay: 0 },
      ),
    data,
    steps,
    schedule: { warmupSteps: Math.max(1, Math.floor(steps / 10)) },
    evaluation: { every: steps, batches: () => data.validationBatches() },
    onMetrics: (row) => log(`step ${row.step}  loss ${row.loss.toFixed(3)}  lr ${row.lr.toExponential(2)}`),
  });
  try {
    const summary = await trainer.train();
    log(`validation loss ${initialValLoss.toFixed(3)} -> ${summary.finalValLoss?.toFixed(3)}`);

    const adapterDir = join(out, 'adapter');
    await saveAdapter(lora, adapterDir);
    log(`PEFT adapter: ${adapterDir}/adapter_config.json + adapter_model.safetensors`);

    // W + (alpha / r) B A for every adapted layer, loaded into a plain model and saved for transformers.
    const mergedDir = join(out, 'merged');
    const { weights, created } = lora.mergedWeights();
    const plain = new LlamaForCausalLM(model.config, { initialize: false });
    try {
      plain.loadStateDict(weights);
      await plain.savePretrained(mergedDir);
    } finally {
      plain.dispose();
      for (const t of created) t.dispose();
    }

    // The merged folder, reloaded, computes what the adapted model computes.
    const reloaded = await AutoModelForCausalLM.fromPretrained(mergedDir);
    let mergedMaxAbsDiff = 0;
    try {
      for await (const batch of data.validationBatches()) {
        const a = await logitsOf(model, batch.tokens, batch.shape);
        const b = await logitsOf(reloaded, batch.tokens, batch.shape);
        for (let i = 0; i < a.length; i++) mergedMaxAbsDiff = Math.max(mergedMaxAbsDiff, Math.abs(a[i]! - b[i]!));
      }
    } finally {
      reloaded.dispose();
    }
    log(`merged model: ${mergedDir} (max |logit difference| ${mergedMaxAbsDiff.toExponential(2)})`);
    return {
      ...summary,
      initialValLoss,
      trainableParams,
      totalParams,
      adaptedLayers: lora.layers.map(({ name }) => name),
      adapterDir,
      mergedDir,
      mergedMaxAbsDiff,
    };
  } finally {
    trainer.dispose();
    model.dispose();
    await data.close();
  }
}

async function logitsOf(model: LlamaForCausalLM, ids: Int32Array, shape: readonly [number, number]) {
  model.eval();
  const logits = noGrad(() => tidy(() => model.forward(fromRaw(ids, [...shape], 'int32', model.backend)).logits));
  try {
    return Float32Array.from(await logits.data());
  } finally {
    logits.dispose();
  }
}

function fromEnv(): LoraPeftOptions {
  const number = (name: string) => (process.env[name] === undefined ? undefined : Number(process.env[name]));
  return {
    data: process.env.DATA,
    model: process.env.MODEL,
    steps: number('STEPS'),
    batchSize: number('BATCH'),
    seqLen: number('SEQ'),
    rank: number('RANK'),
    alpha: number('ALPHA'),
    targetModules: process.env.TARGETS?.split(','),
    lr: number('LR'),
    out: process.env.OUT,
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await loraPeft(fromEnv());
