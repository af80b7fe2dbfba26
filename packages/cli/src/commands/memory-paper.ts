/**
 * `galore-ts memory --paper`: the GaLore paper's three headline reductions (abstract of arXiv
 * 2403.03507: optimizer state -65.5%, with 8-bit states -82.5%, total training memory -63.3% with
 * 8-bit GaLore and per-layer updates, each against a BF16 AdamW baseline) beside ours, from
 * planMemory dry runs of the same model and token batch.
 */

import { type MemoryPlan, type PlanMemoryOptions, planMemory } from '@galore-ts/galore';
import { formatBytes } from '../format.js';

export interface PaperClaim {
  claim: string;
  /** The paper's reduction, as a fraction. */
  paper: number;
  /** Ours: 1 - measured / baseline. */
  ours: number;
  measuredBytes: number;
  baselineBytes: number;
}

export interface PaperComparison {
  model: string;
  rank: number | null;
  batchSize: number;
  seqLen: number;
  claims: PaperClaim[];
  baseline: string;
}

/** The baseline the paper compares with: AdamW with bf16 moments on bf16 weights. */
const BASELINE =
  'AdamW with bf16 moments on bf16 weights, as the paper counts it (our AdamW keeps float32 moments; bf16 ones are exactly half of its measured state)';

/** The paper's 7B run used rank 1024; other models take planMemory's default unless --rank is given. */
const PAPER_RANKS: Readonly<Record<string, number>> = { llama_7b: 1024 };

export function comparePaper(
  options: Pick<PlanMemoryOptions, 'batchSize' | 'seqLen' | 'gradientCheckpointing'> & {
    model: string;
    rank?: number;
  },
): PaperComparison {
  const rank = options.rank ?? PAPER_RANKS[options.model];
  const plan = (optimizer: string, extra: Partial<PlanMemoryOptions> = {}): MemoryPlan =>
    planMemory({
      model: options.model,
      batchSize: options.batchSize,
      seqLen: options.seqLen,
      gradientCheckpointing: options.gradientCheckpointing,
      ...(rank !== undefined ? { rank } : {}),
      dtype: 'bf16',
      optimizer,
      ...extra,
    });
  const adamw = plan('adamw');
  const galore = plan('galore_adamw', { stateDType: 'bfloat16' });
  const eightBit = plan('galore_adamw_8bit');
  const layerwise = plan('galore_adamw_8bit_layerwise');
  const baselineState = adamw.measured.optimizer / 2;
  const baselineTotal = adamw.measured.total - baselineState;
  const claim = (text: string, paper: number, measured: number, baseline: number): PaperClaim => ({
    claim: text,
    paper,
    ours: 1 - measured / baseline,
    measuredBytes: measured,
    baselineBytes: baseline,
  });
  return {
    model: options.model,
    rank: galore.rank,
    batchSize: options.batchSize,
    seqLen: options.seqLen,
    claims: [
      claim('optimizer state, GaLore AdamW (bf16 moments)', 0.655, galore.measured.optimizer, baselineState),
      claim('optimizer state, 8-bit GaLore', 0.825, eightBit.measured.optimizer, baselineState),
      claim('total memory, 8-bit GaLore + per-layer updates', 0.633, layerwise.measured.total, baselineTotal),
    ],
    baseline: BASELINE,
  };
}

export function formatPaperComparison(c: PaperComparison): string {
  const percent = (x: number) => `${(100 * x).toFixed(1)}%`;
  const lines = [
    `The GaLore paper's memory reductions beside ours: ${c.model}${c.rank !== null ? `, rank ${c.rank}` : ''}, batch ${c.batchSize} x ${c.seqLen} tokens, bf16 weights`,
    '',
    `${'reduction of'.padEnd(50)}${'paper'.padStart(8)}${'ours'.padStart(8)}   ours in bytes`,
  ];
  for (const r of c.claims) {
    lines.push(
      `${r.claim.padEnd(50)}${percent(r.paper).padStart(8)}${percent(r.ours).padStart(8)}   ${formatBytes(r.measuredBytes)} vs ${formatBytes(r.baselineBytes)}`,
    );
  }
  lines.push('', `baseline: ${c.baseline}`);
  return `${lines.join('\n')}\n`;
}
