/**
 * How the command's user knows the settings: as flags. Library errors name options (`seqLen`,
 * `validationSequences`); the command rewrites those names into the flags that set them.
 */

/** The flag a settings key is given by: rank -> --rank, updateProjGap -> --update-proj-gap. */
export function flagOf(key: string): string {
  return `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/** Library option names that reach error messages, and the flags that set them. */
const OPTION_FLAGS: Readonly<Record<string, string>> = {
  seqLen: '--seq-len',
  batchSize: '--batch-size',
  validationSequences: '--eval-batches x --batch-size',
  gradientAccumulation: '--grad-accum',
  warmupSteps: '--warmup',
  totalSteps: '--steps',
  minLrRatio: '--min-lr-ratio',
  maxGradNorm: '--max-grad-norm',
  weightDecay: '--weight-decay',
  updateProjGap: '--update-proj-gap',
  projType: '--proj-type',
  targetModules: '--target-modules',
  stateDType: '--optim-dtype',
};

const OPTION_NAME = new RegExp(`\\b(${Object.keys(OPTION_FLAGS).join('|')})\\b`, 'g');

/** `message` with library option names replaced by the flags (a flag already written stays as it is). */
export function inFlagTerms(message: string): string {
  return message.replace(OPTION_NAME, (name, _match, offset: number) =>
    message.slice(Math.max(0, offset - 2), offset) === '--' ? name : OPTION_FLAGS[name]!,
  );
}
