export { type JaggedCosineOptions, jaggedCosine } from './jagged-cosine.js';
export {
  fromPeftConfig,
  type LoraConfig,
  type LoraConfigInput,
  loraConfig,
  toPeftConfig,
} from './lora-config.js';
export { LoraFactor, LoraLayer, type LoraLayerOptions, loraScaling } from './lora-layer.js';
export { type AdaptedLayer, type AdapterMethod, LoraModel } from './lora-model.js';
export {
  type AdapterSettings,
  applyTrainingMethod,
  checkMethodOptimizer,
  isTrainingMethod,
  PRETRAINING_MODULES_TO_SAVE,
  TRAINING_METHODS,
  type TrainingMethod,
} from './methods.js';
export {
  OPTIMIZER_RESETS,
  type OptimizerReset,
  pruneByMagnitude,
  resetOptimizerState,
} from './optimizer-pruning.js';
export {
  ADAPTER_CONFIG_FILE,
  ADAPTER_WEIGHTS_FILE,
  adapterStateDict,
  loadAdapter,
  PEFT_PREFIX,
  readAdapterConfig,
  saveAdapter,
} from './peft-files.js';
export { ReloraHook, type ReloraOptions } from './relora.js';
export { ALL_LINEAR, findTargetLinears, isModuleToSave, isTarget, shortName, type TargetModules } from './targets.js';
