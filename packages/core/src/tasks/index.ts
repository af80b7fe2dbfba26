export {
  evaluateGlue,
  type GlueEpochOptions,
  type GlueStepOptimizer,
  shuffledOrder,
  trainGlueEpoch,
} from './glue-loop.js';
export * from './glue-tasks.js';
export * from './metrics.js';
