/**
 * A tiny random RoBERTa as roberta-base is downloaded (encoder weights, no classifier head) with a
 * whole-word tokenizer.json over the synthetic GLUE words and RoBERTa's special tokens. Shared by
 * the glue command's tests and the Table 4 bench's.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  EncoderForSequenceClassification,
  encoderConfig,
  manualSeed,
  saveEncoderClassifier,
  saveTensors,
} from '@galore-ts/core';
import { wordPieceJson } from '../../core/test/data/word-piece.js';
import { SST2_WORDS, TINY_ROBERTA } from '../../core/test/tasks/synthetic-sst2.js';

const SPECIALS = ['<s>', '<pad>', '</s>', '<unk>'];

/** A whole-word WordPiece tokenizer.json with RoBERTa's special tokens and the GLUE words. */
const TOKENIZER = wordPieceJson(SPECIALS, SST2_WORDS, { unk: '<unk>' });

/** Writes the folder (config.json, model.safetensors, tokenizer.json) to `dir`; weights from `seed`. */
export async function writeTinyRobertaFolder(dir: string, seed = 0): Promise<void> {
  manualSeed(seed);
  const model = new EncoderForSequenceClassification(
    encoderConfig({ ...TINY_ROBERTA, vocab_size: SPECIALS.length + SST2_WORDS.length }),
  ).nameParameters();
  try {
    await saveEncoderClassifier(model, dir);
    // A base checkpoint without a classifier, as roberta-base is downloaded: every task's head is new.
    const encoder = Object.fromEntries([...model.namedParameters()].filter(([name]) => name.startsWith('roberta.')));
    await saveTensors(join(dir, 'model.safetensors'), encoder, { format: 'pt' });
  } finally {
    model.dispose();
  }
  await writeFile(join(dir, 'tokenizer.json'), JSON.stringify(TOKENIZER));
}
