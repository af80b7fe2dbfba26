/** @galore-ts/cli: the `galore-ts` command, also usable in-process through main(argv, io). */

export { type EvalReport, runEval } from './commands/eval.js';
export { type GenerateReport, runGenerate } from './commands/generate.js';
export { type GlueEvaluation, runGlue } from './commands/glue.js';
export { runMemory } from './commands/memory.js';
export { type MergeReport, runMerge } from './commands/merge.js';
export { runPlot } from './commands/plot.js';
export { CHECKPOINTS_DIR, METRICS_FILE, RUN_FILE, runTrain, type TrainReport } from './commands/train.js';
export { DEFAULT_SETTINGS, type RunSettings } from './commands/train-settings.js';
export { type CliIO, memoryIO, processIO } from './io.js';
export { buildProgram, main } from './main.js';
export { DEFAULT_CORPUS } from './paths.js';
export { type SamplingOptions, sampleToken, samplingDistribution } from './sampling.js';
