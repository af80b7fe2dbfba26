/**
 * Choosing the GaLore rank r. GaLore keeps the optimizer state of an m x n weight for r x n (or
 * m x r) numbers, so it saves memory only while r is below the weight's smaller side; from there on
 * the projection keeps every direction, the state is as large as without GaLore, and the projector
 * adds its basis on top.
 *
 * The paper ties r to the hidden size d (Table 2; the 7B run): d 512 (60M) r 128, d 768 (130M)
 * r 256, d 1024 (350M) r 256, d 2048 (1B) r 512, d 4096 (7B) r 1024. That is d / 4 except 130M's
 * 256 (d / 3). The default is the paper's r for those sizes and d / 4 for any other, rounded down
 * to a multiple of 8 (matmul tiles like it) once d / 4 is at least 8.
 */
import { formatShape, type Tensor } from '@galore-ts/core';

const PAPER_RANKS: ReadonlyMap<number, number> = new Map([
  [512, 128],
  [768, 256],
  [1024, 256],
  [2048, 512],
  [4096, 1024],
]);

/** The default GaLore rank for a model of hidden size `hiddenSize` (see the module comment). */
export function defaultGaLoreRank(hiddenSize: number): number {
  if (!Number.isInteger(hiddenSize) || hiddenSize < 1) {
    throw new RangeError(`defaultGaLoreRank: the hidden size must be a positive integer, got ${String(hiddenSize)}`);
  }
  const paper = PAPER_RANKS.get(hiddenSize);
  if (paper !== undefined) return paper;
  const quarter = Math.max(1, Math.floor(hiddenSize / 4));
  return quarter >= 8 ? quarter - (quarter % 8) : quarter;
}

/** The smaller side of a 2-D weight: the most directions a projection of it can drop. */
function smallerSide(weight: Tensor): number {
  return Math.min(weight.shape[0]!, weight.shape[1]!);
}

/**
 * The hidden size projected weights imply: the largest smaller side among them (for LLaMA the
 * attention and MLP projections all have the hidden size as one side).
 */
export function hiddenSizeOf(weights: readonly Tensor[]): number {
  return Math.max(...weights.map(smallerSide));
}

/** A rank at least as large as some projected weights' smaller side (see the module comment). */
export interface RankWarning {
  /** The parameter group (index into paramGroups). */
  group: number;
  rank: number;
  /** The weights on which the rank saves nothing. */
  params: string[];
  /** defaultGaLoreRank of the group's hidden size. */
  suggestedRank: number;
  message: string;
}

/** The warning for a projected group whose rank saves nothing on some of its weights, or null. */
export function rankWarning(
  where: string,
  group: number,
  rank: number,
  weights: readonly Tensor[],
  names: readonly string[],
): RankWarning | null {
  const full = weights.flatMap((w, i) => (rank >= smallerSide(w) ? [i] : []));
  if (full.length === 0) return null;
  const first = full[0]!;
  const suggestedRank = defaultGaLoreRank(hiddenSizeOf(weights));
  const message =
    `${where}: rank ${rank} is at least the smaller side of ${full.length} of its ${weights.length} weights ` +
    `(e.g. '${names[first]}', ${formatShape(weights[first]!.shape)}): the projection keeps every direction, ` +
    `so GaLore saves no memory on them and its projector adds some; use a smaller rank, e.g. rank ${suggestedRank} ` +
    '(defaultGaLoreRank of the hidden size)';
  return { group, rank, params: full.map((i) => names[i]!), suggestedRank, message };
}
