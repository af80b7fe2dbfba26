export * from './creation.js';
export * from './elementwise.js';
export * from './kernel.js';
export * from './linalg.js';
export * from './matmul.js';
export * from './nn.js';
export * from './reduce.js';
export * from './shape-ops.js';
