export * from './llama/index.js';
