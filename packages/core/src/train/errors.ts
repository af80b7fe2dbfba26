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
 * Training produced a NaN or infinite loss or gradient norm (thrown before that step updates
 * anything), or a step left a NaN or infinity in the weights or the optimizer state (thrown instead
 * of checkpointing them). No checkpoint is written: the last good one on disk stays intact.
 */
export class NonFiniteLossError extends Error {
  constructor(
    /** The 1-based optimizer step that failed. */
    readonly step: number,
    /** What was not finite. */
    readonly quantity: 'loss' | 'gradient norm' | 'weight' | 'optimizer state',
    readonly value: number,
    /** The newest checkpoint written before the failure, if any. */
    readonly lastCheckpoint: string | null,
    /** The weight or state tensor holding `value`. */
    readonly tensor?: string,
  ) {
    const resume = lastCheckpoint
      ? `the last good checkpoint is ${lastCheckpoint}; resume from it with a lower learning rate`
      : 'no checkpoint was written before it';
    const what = tensor ? `the ${quantity} ${tensor} holds ${value}` : `the ${quantity} is ${value}`;
    super(`training stopped at step ${step}: ${what} (not finite); ${resume}`);
    this.name = 'NonFiniteLossError';
  }
}
