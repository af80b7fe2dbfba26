import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ByteTokenizer } from './byte.js';
import { Gpt2Tokenizer } from './gpt2.js';
import { HuggingFaceTokenizer } from './huggingface.js';
import type { Tokenizer } from './tokenizer.js';

/**
 * 'byte' (UTF-8 bytes + BOS/EOS), 'gpt2' (GPT-2 BPE), or a path to a Hugging Face tokenizer.json
 * or to a folder that holds one.
 */
export async function loadTokenizer(spec: string): Promise<Tokenizer> {
  if (spec === 'byte') return new ByteTokenizer();
  if (spec === 'gpt2') return Gpt2Tokenizer.load();
  const info = await stat(spec).catch(() => undefined);
  const usage = `expected 'byte', 'gpt2', or the path of a tokenizer.json file or of a folder containing one`;
  if (info === undefined)
    throw new Error(`unknown tokenizer ${JSON.stringify(spec)}: no such file or folder; ${usage}`);
  if (info.isDirectory()) {
    const inside = join(spec, 'tokenizer.json');
    if (!(await stat(inside).catch(() => undefined))?.isFile()) {
      throw new Error(`tokenizer folder ${JSON.stringify(spec)} has no tokenizer.json; ${usage}`);
    }
  } else if (!spec.endsWith('.json')) {
    throw new Error(`tokenizer file ${JSON.stringify(spec)} is not a .json file; ${usage}`);
  }
  return HuggingFaceTokenizer.load(spec);
}
