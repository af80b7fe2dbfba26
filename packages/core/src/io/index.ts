export { atomicWriteFile, withAtomicFile, writeFully } from './atomic-write.js';
export { diskErrorCode } from './disk-errors.js';
export { pathExists } from './exists.js';
export {
  type LoadedTensor,
  readSafetensors,
  readSafetensorsHeader,
  type SafetensorsEntry,
  SafetensorsFile,
  writeSafetensors,
} from './safetensors.js';
export {
  decodeTensorBytes,
  hostDTypeOf,
  SAFETENSORS_DTYPES,
  type SafetensorsDType,
  safetensorsItemBytes,
  toSafetensorsDType,
} from './safetensors-dtype.js';
export {
  encodeHeader,
  MAX_HEADER_LENGTH,
  SafetensorsError,
  type SafetensorsHeader,
  type SafetensorsTensorInfo,
} from './safetensors-header.js';
export * from './tensors.js';
