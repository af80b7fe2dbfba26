/**
 * What the GaLore paper reports for RoBERTa-base on GLUE, and the hyper-parameters behind it, each
 * with the place it was read:
 *
 * - [GaLore] Zhao et al., "GaLore: Memory-Efficient LLM Training by Gradient Low-Rank Projection",
 *   arXiv 2403.03507 (ICML 2024 version): Table 4 (scores, memory), Section 5.4, Appendix D.1 and
 *   its Table 7 (GaLore's fine-tuning hyper-parameters).
 * - [run_glue] the authors' github.com/jiaweizzhao/GaLore: `run_glue.py` (defaults) and README.md
 *   (its RoBERTa example command).
 * - [LoRA] Hu et al., "LoRA: Low-Rank Adaptation of Large Language Models" (ICLR 2022), Appendix
 *   D.1 Table 9 (RoBERTa base), which GaLore Section 5.4 says it uses for LoRA; and Table 2's caption
 *   for the metric of each task. [LoRA repo] github.com/microsoft/LoRA examples/NLU/roberta_base_*.sh.
 */

/** The eight tasks in Table 4's column order. */
export const TABLE4_TASKS = ['cola', 'stsb', 'mrpc', 'rte', 'sst2', 'mnli', 'qnli', 'qqp'] as const;
export type Table4Task = (typeof TABLE4_TASKS)[number];

export const TABLE4_COLUMN: Readonly<Record<Table4Task, string>> = {
  cola: 'CoLA',
  stsb: 'STS-B',
  mrpc: 'MRPC',
  rte: 'RTE',
  sst2: 'SST2',
  mnli: 'MNLI',
  qnli: 'QNLI',
  qqp: 'QQP',
};

/** Table 4's rows, in its order. */
export const TABLE4_METHODS = ['full', 'galore-r4', 'lora-r4', 'galore-r8', 'lora-r8'] as const;
export type Table4Method = (typeof TABLE4_METHODS)[number];

export interface Table4Row {
  label: string;
  /** Table 4's "Memory" column, as printed. */
  memory: string;
  scores: Readonly<Record<Table4Task, number>>;
  average: number;
}

/** [GaLore] Table 4, "Evaluating GaLore for memory-efficient fine-tuning on GLUE benchmark using pre-trained RoBERTa-Base". */
export const PAPER_TABLE4: Readonly<Record<Table4Method, Table4Row>> = {
  full: {
    label: 'Full Fine-Tuning',
    memory: '747M',
    scores: { cola: 62.24, stsb: 90.92, mrpc: 91.3, rte: 79.42, sst2: 94.57, mnli: 87.18, qnli: 92.33, qqp: 92.28 },
    average: 86.28,
  },
  'galore-r4': {
    label: 'GaLore (rank=4)',
    memory: '253M',
    scores: { cola: 60.35, stsb: 90.73, mrpc: 92.25, rte: 79.42, sst2: 94.04, mnli: 87.0, qnli: 92.24, qqp: 91.06 },
    average: 85.89,
  },
  'lora-r4': {
    label: 'LoRA (rank=4)',
    memory: '257M',
    scores: { cola: 61.38, stsb: 90.57, mrpc: 91.07, rte: 78.7, sst2: 92.89, mnli: 86.82, qnli: 92.18, qqp: 91.29 },
    average: 85.61,
  },
  'galore-r8': {
    label: 'GaLore (rank=8)',
    memory: '257M',
    scores: { cola: 60.06, stsb: 90.82, mrpc: 92.01, rte: 79.78, sst2: 94.38, mnli: 87.17, qnli: 92.2, qqp: 91.11 },
    average: 85.94,
  },
  'lora-r8': {
    label: 'LoRA (rank=8)',
    memory: '264M',
    scores: { cola: 61.83, stsb: 90.8, mrpc: 91.9, rte: 79.06, sst2: 93.46, mnli: 86.94, qnli: 92.25, qqp: 91.22 },
    average: 85.93,
  },
};

/**
 * The metric behind each column. The GaLore paper does not say; these are [LoRA]'s Table 2 caption
 * (Matthews correlation for CoLA, Pearson for STS-B, accuracy for the rest), the paper whose LoRA
 * setup GaLore follows. MNLI is dev_matched, run_glue.py's evaluation; [LoRA] reports matched and
 * mismatched together.
 */
export const TABLE4_METRIC: Readonly<Record<Table4Task, 'matthews_correlation' | 'pearson' | 'accuracy'>> = {
  cola: 'matthews_correlation',
  stsb: 'pearson',
  mrpc: 'accuracy',
  rte: 'accuracy',
  sst2: 'accuracy',
  mnli: 'accuracy',
  qnli: 'accuracy',
  qqp: 'accuracy',
};

type PerTask<T> = Readonly<Record<Table4Task, T>>;

/** [GaLore] Appendix D.1: 30 epochs, batch size 16 except CoLA's 32, for every GaLore run. */
const GALORE_BATCH: PerTask<number> = { cola: 32, stsb: 16, mrpc: 16, rte: 16, sst2: 16, mnli: 16, qnli: 16, qqp: 16 };
const GALORE_EPOCHS = 30;
/** [GaLore] Table 7: max sequence length 512 for both ranks. */
const GALORE_MAX_SEQ_LEN = 512;

/** [GaLore] Table 7, rank 4 (GaLore alpha 4) and rank 8 (GaLore alpha 2): learning rate per task. */
const GALORE_R4_LR: PerTask<number> = {
  mnli: 1e-5,
  sst2: 1e-5,
  mrpc: 3e-5,
  cola: 3e-5,
  qnli: 1e-5,
  qqp: 1e-5,
  rte: 1e-5,
  stsb: 1e-5,
};
const GALORE_R8_LR: PerTask<number> = {
  mnli: 1e-5,
  sst2: 2e-5,
  mrpc: 2e-5,
  cola: 1e-5,
  qnli: 1e-5,
  qqp: 2e-5,
  rte: 2e-5,
  stsb: 3e-5,
};

/** [LoRA] Table 9, RoBERTa base LoRA: batch size, epochs and learning rate per task. */
const LORA_BATCH: PerTask<number> = { mnli: 16, sst2: 16, mrpc: 16, cola: 32, qnli: 32, qqp: 16, rte: 32, stsb: 16 };
const LORA_EPOCHS: PerTask<number> = { mnli: 30, sst2: 60, mrpc: 30, cola: 80, qnli: 25, qqp: 25, rte: 80, stsb: 40 };
const LORA_LR: PerTask<number> = {
  mnli: 5e-4,
  sst2: 5e-4,
  mrpc: 4e-4,
  cola: 4e-4,
  qnli: 4e-4,
  qqp: 5e-4,
  rte: 5e-4,
  stsb: 4e-4,
};

/** One method's hyper-parameters for one task, as `galore-ts glue` takes them. */
export interface Table4Hyperparameters {
  optimizer: 'adamw' | 'galore_adamw';
  method: 'full' | 'lora';
  lr: number;
  batchSize: number;
  epochs: number;
  maxSeqLen: number;
  lrScheduler: 'linear';
  warmupRatio: number;
  weightDecay: number;
  rank?: number;
  galoreScale?: number;
  updateProjGap?: number;
  loraRank?: number;
  loraAlpha?: number;
  /** Modules LoRA wraps; GaLore uses the glue command's default (run_glue's --lora_all_modules set). */
  targetModules?: string[];
}

/** run_glue.py's defaults: linear schedule, --num_warmup_steps 0, --weight_decay 0. */
const RUN_GLUE_SCHEDULE = { lrScheduler: 'linear', warmupRatio: 0, weightDecay: 0 } as const;

function galore(task: Table4Task, rank: number, scale: number, lrs: PerTask<number>): Table4Hyperparameters {
  return {
    optimizer: 'galore_adamw',
    method: 'full',
    lr: lrs[task],
    batchSize: GALORE_BATCH[task],
    epochs: GALORE_EPOCHS,
    maxSeqLen: GALORE_MAX_SEQ_LEN,
    ...RUN_GLUE_SCHEDULE,
    rank,
    galoreScale: scale,
    // Not in the paper; [run_glue] README's RoBERTa example uses --update_proj_gap 500.
    updateProjGap: 500,
  };
}

function lora(task: Table4Task, rank: number): Table4Hyperparameters {
  return {
    optimizer: 'adamw',
    method: 'lora',
    lr: LORA_LR[task],
    batchSize: LORA_BATCH[task],
    epochs: LORA_EPOCHS[task],
    // [LoRA] Table 9: max seq. len. 512, warmup ratio 0.06, linear schedule, r_q = r_v, alpha 8.
    maxSeqLen: 512,
    lrScheduler: 'linear',
    warmupRatio: 0.06,
    // Not in [LoRA] Table 9; [LoRA repo] roberta_base_*.sh pass --weight_decay 0.1.
    weightDecay: 0.1,
    loraRank: rank,
    loraAlpha: 8,
    targetModules: ['query', 'value'],
  };
}

/**
 * The hyper-parameters of each Table 4 row. The paper gives none for full fine-tuning; we use
 * GaLore rank 4's batch size, epochs, learning rates and sequence length with plain AdamW, so the
 * two differ only in the optimizer. For LoRA rank 4 the paper only says it uses [LoRA]'s
 * hyper-parameters, given there for rank 8; we use them with rank 4.
 */
export function table4Hyperparameters(method: Table4Method, task: Table4Task): Table4Hyperparameters {
  switch (method) {
    case 'full': {
      const { rank: _r, galoreScale: _s, updateProjGap: _g, ...rest } = galore(task, 4, 4, GALORE_R4_LR);
      return { ...rest, optimizer: 'adamw' };
    }
    case 'galore-r4':
      return galore(task, 4, 4, GALORE_R4_LR);
    case 'galore-r8':
      return galore(task, 8, 2, GALORE_R8_LR);
    case 'lora-r4':
      return lora(task, 4);
    case 'lora-r8':
      return lora(task, 8);
  }
}
