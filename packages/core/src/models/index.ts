export * from './llama/index.js';
export * from './roberta/index.js';
