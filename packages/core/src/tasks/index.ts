export * from './glue-tasks.js';
