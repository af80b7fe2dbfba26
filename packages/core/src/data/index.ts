export { ByteQueue } from './byte-queue.js';
export { type ChatMessage, ChatTemplate, type RenderOptions } from './chat/template.js';
export {
  type GlueExample,
  type GlueReadOptions,
  type GlueSplit,
  glueFilePath,
  parseGlueTsv,
  readGlueSplit,
} from './glue.js';
export {
  collateGlueBatch,
  type EncodedExample,
  encodeGlueExample,
  type GlueBatch,
  numSpecialTokens,
  type PairEncodingStyle,
  truncateLongestFirst,
} from './glue-batches.js';
export * from './instruction/index.js';
export { PASS_START, type PackedSequence, PackedSequenceStream, type PassPosition } from './packed-sequences.js';
export { type PrngState, Xoshiro128 } from './prng.js';
export { ShuffleBuffer } from './shuffle-buffer.js';
export { readBytesFrom } from './sources/byte-stream.js';
export {
  type DataFile,
  type DataFormat,
  dataFormatOf,
  listDataFiles,
  SUPPORTED_DATA_SUFFIXES,
} from './sources/files.js';
export {
  FILE_START,
  type FilePosition,
  FileSegmentReader,
  type SegmentReaderOptions,
  type TextSegment,
} from './sources/segment-reader.js';
export { decodeInt32, encodeInt32 } from './state-codec.js';
export { type TokenBatch, TokenDataset, type TokenDatasetOptions, type TokenDatasetState } from './token-dataset.js';
export { TokenQueue } from './token-queue.js';
export * from './tokenizers/index.js';
