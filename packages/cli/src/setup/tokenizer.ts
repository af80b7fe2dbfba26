/**
 * Which tokenizer a command uses, and the check that its ids fit the model: --tokenizer, else the
 * run's, else the model folder's own tokenizer.json (a real LLaMA must not be fed byte ids), else
 * the byte tokenizer.
 */
import { copyFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { LlamaConfig, Tokenizer } from '@galore-ts/core';

export const TOKENIZER_FILE = 'tokenizer.json';

/** A Hugging Face folder's tokenizer files, copied beside saved weights so the folder is complete. */
const TOKENIZER_FILES = [
  TOKENIZER_FILE,
  'tokenizer_config.json',
  'special_tokens_map.json',
  'chat_template.jinja',
  'vocab.json',
  'merges.txt',
];

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

/**
 * Copies the tokenizer files of `spec` (a tokenizer.json or the folder holding it) into `folder`,
 * so a checkpoint or merged model loads with its tokenizer; `byte` and `gpt2` have no files.
 */
export async function copyTokenizerFiles(spec: string, folder: string): Promise<void> {
  const info = await stat(spec).catch(() => undefined);
  if (!info) return;
  const source = info.isDirectory() ? spec : dirname(spec);
  for (const file of TOKENIZER_FILES) {
    if ((await stat(join(source, file)).catch(() => undefined))?.isFile())
      await copyFile(join(source, file), join(folder, file));
  }
}
