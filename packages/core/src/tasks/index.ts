export * from './glue-tasks.js';
export * from './metrics.js';
