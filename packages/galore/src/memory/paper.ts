/**
 * The GaLore paper's memory figures (Zhao et al. 2024, arXiv 2403.03507), to print beside ours.
 * Table 2 estimates weights + optimizer states in BF16 for the pre-training runs (ranks 128, 256,
 * 256, 512 for 60M ... 1B); Figure 1 / Section 5 give LLaMA 7B's total training memory at batch 1.
 */
export interface PaperFigure {
  /** Which of our measured quantities it is comparable to. */
  compareTo: 'weights+optimizer' | 'total';
  /** What the paper's number is for. */
  label: string;
  /** In GB (10^9 bytes), as printed in the paper. */
  gigabytes: number;
  /** The optimizer names (as planMemory reports them) whose plans it is comparable to. */
  optimizers: readonly string[];
}

export const PAPER_TABLE2: Readonly<Record<string, { fullRank: number; galore: number; rank: number }>> = Object.freeze(
  {
    llama_60m: { fullRank: 0.36, galore: 0.24, rank: 128 },
    llama_130m: { fullRank: 0.76, galore: 0.52, rank: 256 },
    llama_350m: { fullRank: 2.06, galore: 1.22, rank: 256 },
    llama_1b: { fullRank: 7.8, galore: 4.38, rank: 512 },
  },
);

export const PAPER_7B = Object.freeze({
  /** BF16 AdamW, a token batch of 256. */
  adamwTotal: 58,
  /** 8-bit GaLore with per-layer weight updates, rank 1024, a token batch of 256. */
  galore8bitLayerwiseTotal: 22.0,
});

/** The paper's figures that concern a model preset (none for custom configs). */
export function paperFigures(modelName: string): PaperFigure[] {
  const row = PAPER_TABLE2[modelName];
  if (row) {
    return [
      {
        compareTo: 'weights+optimizer',
        label: 'Table 2, full-rank AdamW (BF16)',
        gigabytes: row.fullRank,
        optimizers: ['adamw'],
      },
      {
        compareTo: 'weights+optimizer',
        label: `Table 2, GaLore rank ${row.rank} (BF16)`,
        gigabytes: row.galore,
        optimizers: ['galore_adamw', 'galore_adamw_layerwise'],
      },
    ];
  }
  if (modelName === 'llama_7b') {
    return [
      {
        compareTo: 'total',
        label: 'Fig. 1, BF16 AdamW, 256 tokens',
        gigabytes: PAPER_7B.adamwTotal,
        optimizers: ['adamw'],
      },
      {
        compareTo: 'total',
        label: 'Fig. 1, 8-bit GaLore + per-layer updates, rank 1024, 256 tokens',
        gigabytes: PAPER_7B.galore8bitLayerwiseTotal,
        optimizers: ['galore_adamw_8bit_layerwise'],
      },
    ];
  }
  return [];
}
