export { ByteTokenizer } from './byte.js';
export { GPT2_EOS_ID, Gpt2Tokenizer } from './gpt2.js';
export { HuggingFaceTokenizer } from './huggingface.js';
export { loadTokenizer } from './load.js';
export { checkTokenIds, type Tokenizer } from './tokenizer.js';
export {
  CHAT_TEMPLATE_FILE,
  readTokenizerConfig,
  type SpecialTokenKey,
  TOKENIZER_CONFIG_FILE,
  type TokenizerFolderConfig,
} from './tokenizer-config.js';
