export {
  CHECKPOINT_FORMAT,
  CHECKPOINT_VERSION,
  loadCheckpoint,
  OPTIMIZER_FILE,
  readTrainerState,
  TRAINER_STATE_FILE,
  type TrainerState,
  type TrainerStateInput,
  writeCheckpoint,
} from './checkpoint.js';
export {
  CheckpointStore,
  type CheckpointStoreOptions,
  checkpointDirName,
  LATEST_FILE,
  resolveCheckpoint,
} from './checkpoint-store.js';
export { CheckpointError, NonFiniteLossError } from './errors.js';
export { type EvaluateOptions, type EvaluationResult, evaluate } from './evaluate.js';
export { firstNonFinite } from './finite.js';
export type * from './interfaces.js';
export { type BadMetricsLine, JsonlMetricsWriter, type MetricsRow, parseMetrics, readMetrics } from './metrics.js';
export { nextTokenLoss, splitBatch } from './next-token-loss.js';
export {
  type CheckpointOptions,
  type EvaluationOptions,
  type ScheduleOptions,
  type StopReason,
  Trainer,
  type TrainerOptions,
  type TrainSummary,
} from './trainer.js';
