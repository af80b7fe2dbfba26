export {
  InstructionDataset,
  type InstructionDatasetOptions,
  type InstructionDatasetState,
  type InstructionTokenizerWithPad,
  padBatch,
} from './dataset.js';
export { type EncodedExample, encodeExample, type InstructionTokenizer } from './encode.js';
export {
  INSTRUCTION_FORMATS,
  type InstructionExample,
  type InstructionFormat,
  isInstructionFormat,
  type RecordOptions,
  readRecord,
} from './records.js';
