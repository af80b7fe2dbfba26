/**
 * Loading and saving encoder classifiers as Hugging Face folders (config.json + model.safetensors).
 * As transformers does, a checkpoint of another head (RobertaForMaskedLM as roberta-base is
 * downloaded, a bare RobertaModel) initialises what it has; the rest is drawn fresh and the load
 * reports which weights were new and which of the file's were unused.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { atomicWriteFile } from '../../io/atomic-write.js';
import { pathExists } from '../../io/exists.js';
import { readSafetensorsHeader } from '../../io/safetensors.js';
import { loadTensorsInto, saveTensors } from '../../io/tensors.js';
import type { ParameterOptions } from '../../nn/init.js';
import type { Tensor } from '../../tensor.js';
import { type EncoderConfigOverrides, problemTypeOf, readEncoderConfig, withHead } from './config.js';
import { EncoderForSequenceClassification } from './model.js';

export interface LoadingInfo {
  /** Parameters the checkpoint did not provide: newly initialised (the classifier, from an MLM checkpoint). */
  newlyInitialized: string[];
  /** Tensors of the checkpoint nothing used (the MLM head, a pooler RoBERTa's classifier lacks). */
  unused: string[];
}

/** Buffers transformers saved with the weights in some versions; recomputed here, never reported. */
const BUFFERS = /(^|\.)embeddings\.(position_ids|token_type_ids)$/;

export interface EncoderFromPretrainedOptions extends EncoderConfigOverrides, ParameterOptions {}

/** AutoModelForSequenceClassification for the encoder families (roberta, bert). */
export const AutoModelForSequenceClassification = {
  async fromPretrained(
    dir: string,
    options: EncoderFromPretrainedOptions = {},
  ): Promise<{ model: EncoderForSequenceClassification; loadingInfo: LoadingInfo }> {
    const config = withHead(await readEncoderConfig(join(dir, 'config.json')), options);
    const weights = join(dir, 'model.safetensors');
    if (!(await pathExists(weights))) {
      throw new Error(
        `fromPretrained: ${dir} has no model.safetensors (only single-file safetensors weights are supported)`,
      );
    }
    const model = new EncoderForSequenceClassification(config, options).nameParameters();
    try {
      const loadingInfo = await loadEncoderWeights(model, weights);
      return { model, loadingInfo };
    } catch (error) {
      model.dispose();
      throw error;
    }
  },
};

/**
 * Loads `path` into `model` by name. A file of a bare base model (keys `embeddings.*`,
 * `encoder.*`) is read under the model's base prefix, and LayerNorm `gamma` / `beta` (old BERT
 * checkpoints) as `weight` / `bias`, as transformers does.
 */
export async function loadEncoderWeights(model: EncoderForSequenceClassification, path: string): Promise<LoadingInfo> {
  const prefix = `${model.config.model_type}.`;
  const fileKeys = [...(await readSafetensorsHeader(path)).tensors.keys()];
  const bare = !fileKeys.some((k) => k.startsWith(prefix)) && fileKeys.some((k) => k.startsWith('embeddings.'));
  const own = model.stateDict();
  const inFile = new Set(fileKeys);
  // The name each parameter has in the file: without the base prefix for a bare file, and with
  // TensorFlow-era LayerNorm names (gamma, beta) where the file uses them, as transformers renames.
  const fileNameOf = (name: string): string => {
    const key = bare ? name.slice(prefix.length) : name;
    const legacy = key.replace(/LayerNorm\.weight$/, 'LayerNorm.gamma').replace(/LayerNorm\.bias$/, 'LayerNorm.beta');
    return !inFile.has(key) && inFile.has(legacy) ? legacy : key;
  };
  const targets: Record<string, Tensor> = {};
  for (const [name, t] of Object.entries(own)) {
    if (!bare || name.startsWith(prefix)) targets[fileNameOf(name)] = t;
  }
  const result = await loadTensorsInto(path, targets, { strict: false });
  const provided = new Set(result.fileKeys);
  const newlyInitialized = Object.keys(own).filter(
    (name) => (bare && !name.startsWith(prefix)) || !provided.has(fileNameOf(name)),
  );
  const unused = result.unexpectedKeys.filter((k) => !BUFFERS.test(k));
  return { newlyInitialized, unused };
}

/** Writes the model as a Hugging Face folder that transformers' AutoModelForSequenceClassification reads. */
export async function saveEncoderClassifier(model: EncoderForSequenceClassification, dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  await saveTensors(join(dir, 'model.safetensors'), Object.fromEntries(model.namedParameters()), { format: 'pt' });
  const arch =
    model.config.model_type === 'roberta' ? 'RobertaForSequenceClassification' : 'BertForSequenceClassification';
  const config = { ...model.config, architectures: [arch], problem_type: problemTypeOf(model.config) };
  await atomicWriteFile(join(dir, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
}
