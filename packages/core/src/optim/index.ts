export { ADAMW_DEFAULTS, AdamW, type AdamWOptions } from './adamw.js';
export {
  type AdamWStep,
  adamwKernelParams,
  adamwStepOf,
  adamwUpdateFused,
  adamwUpdateReference,
} from './adamw-update.js';
export { clipGradNorm, clipGradNormSync, clipGradNormTensor } from './clip-grad.js';
export { allFiniteNow, finiteFlag } from './finite.js';
export { LRScheduler, type LRSchedulerState, type SchedulableOptimizer } from './lr-scheduler.js';
export {
  type GroupOptions,
  Optimizer,
  type OptimizerStateDict,
  type OptionSchema,
  type OptionsInput,
  type ParamGroup,
  type ParamGroupSpec,
  type ParamState,
  type ParamsInput,
  type SkippedUpdate,
  type StateTensors,
  type StepReport,
} from './optimizer.js';
export { mergeDisjoint, normalizeOptions } from './option-names.js';
export {
  constantSchedule,
  type LRSchedule,
  linearWarmupCosine,
  linearWarmupDecay,
  type WarmupCosineOptions,
} from './schedules.js';
export { SGD, SGD_DEFAULTS, type SGDOptions } from './sgd.js';
export { computeDTypeOf, writeInto } from './update-helpers.js';
export {
  type AdamHyperParameters,
  checkAdamOptions,
  checkFlag,
  checkOption,
  describeValue,
  groupLabel,
  inUnitInterval,
  nonNegative,
  positive,
} from './validate.js';
