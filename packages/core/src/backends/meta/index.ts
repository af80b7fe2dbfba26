/**
 * The meta backend: allocation bookkeeping without memory or compute, for dry-running a training
 * step at any model size. Meta tensors read as zeros.
 */
export {
  createMetaBackend,
  META_READ_LIMIT,
  MetaBackend,
  type MetaBackendOptions,
} from './backend.js';
export { MetaStorage } from './storage.js';
