import { StorageBase } from '../base.js';

/**
 * A storage with a size and no data. Its category and liveness change only through the meta
 * backend (`retag`, `free`), which keeps the memory tracker in step with them.
 */
export class MetaStorage extends StorageBase {}
