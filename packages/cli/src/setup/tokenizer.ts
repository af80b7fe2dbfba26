/**
 * Which tokenizer a command uses, and the check that its ids fit the model: --tokenizer, else the
 * run's, else the model folder's own tokenizer.json (a real LLaMA must not be fed byte ids), else
 * the byte tokenizer.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { LlamaConfig, Tokenizer } from '@galore-ts/core';

export const TOKENIZER_FILE = 'tokenizer.json';

/** `folder`'s tokenizer.json when it has one. */
export async function folderTokenizer(folder: string | undefined): Promise<string | undefined> {
  if (folder === undefined) return undefined;
  const file = join(folder, TOKENIZER_FILE);
  const info = await stat(file).catch(() => undefined);
  return info?.isFile() ? file : undefined;
}

/** The tokenizer spec: the flag, the run's saved one, the model folder's, or 'byte'. */
export async function chooseTokenizer(flag: string | undefined, saved: string | undefined, modelFolder: string) {
  return flag ?? saved ?? (await folderTokenizer(modelFolder)) ?? 'byte';
}

/** Refuses a tokenizer that produces ids the model has no embedding for. */
export function checkTokenizerFits(tokenizer: Tokenizer, config: LlamaConfig, model: string): void {
  if (tokenizer.vocabSize > config.vocab_size) {
    throw new Error(
      `the tokenizer '${tokenizer.name}' has ${tokenizer.vocabSize} ids but the model ${model} has vocab_size ${config.vocab_size}; pick a matching --tokenizer or model`,
    );
  }
}
