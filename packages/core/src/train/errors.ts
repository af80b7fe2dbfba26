/** Errors the Trainer and the checkpoint code throw, so callers can tell them apart. */

/** A checkpoint folder that is missing, incomplete, truncated or for another setup. */
export class CheckpointError extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(`checkpoint ${path}: ${message}`);
    this.name = 'CheckpointError';
  }
}

/**
 * Training produced a NaN or infinite loss (or gradient norm). Thrown before that step updates
 * anything, so the parameters in memory are those after the previous step, and no checkpoint is
 * written: the last good one on disk stays intact.
 */
export class NonFiniteLossError extends Error {
  constructor(
    /** The 1-based optimizer step that failed. */
    readonly step: number,
    /** What was not finite. */
    readonly quantity: 'loss' | 'gradient norm',
    readonly value: number,
    /** The newest checkpoint written before the failure, if any. */
    readonly lastCheckpoint: string | null,
  ) {
    const resume = lastCheckpoint
      ? `the last good checkpoint is ${lastCheckpoint}; resume from it with a lower learning rate`
      : 'no checkpoint was written before it';
    super(`training stopped at step ${step}: the ${quantity} is ${value} (not finite); ${resume}`);
    this.name = 'NonFiniteLossError';
  }
}
