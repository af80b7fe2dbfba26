/**
 * `galore-ts merge <run> -o <folder>`: folds a run's adapters into its weights and writes a plain
 * Hugging Face folder (config.json + model.safetensors) that transformers, eval and generate load
 * as an ordinary LLaMA; optionally the adapters alone as a PEFT folder.
 */
import { getBackendByName, LlamaForCausalLM, saveAdapter } from '@galore-ts/core';
import { Command } from 'commander';
import type { CliIO } from '../io.js';
import { loadTrainedModel } from '../setup/method.js';
import { copyTokenizerFiles } from '../setup/tokenizer.js';
import { resolveModelFolder, savedSettings } from './saved-settings.js';

interface MergeFlags {
  out: string;
  adapterOut?: string;
  json?: boolean;
}

export interface MergeReport {
  checkpoint: string;
  method: string;
  merged_layers: number;
  out: string;
  adapter_out: string | null;
}

export function mergeCommand(io: CliIO): Command {
  return new Command('merge')
    .description("fold a run's LoRA / ReLoRA / low-rank adapters into its weights and write a Hugging Face folder")
    .argument('<checkpoint>', 'a checkpoint folder or a run folder (its latest checkpoint)')
    .requiredOption('-o, --out <dir>', 'the merged Hugging Face folder to write')
    .option('--adapter-out <dir>', 'also write the LoRA adapters as a PEFT folder (adapter_config.json + safetensors)')
    .option('--json', 'print the result as JSON')
    .action(async (checkpoint: string, flags: MergeFlags) => {
      const report = await runMerge(checkpoint, flags);
      io.stdout(
        flags.json
          ? `${JSON.stringify(report, null, 2)}\n`
          : `merged ${report.merged_layers} ${report.method} layers of ${report.checkpoint} into ${report.out}\n`,
      );
    });
}

export async function runMerge(checkpointPath: string, flags: MergeFlags): Promise<MergeReport> {
  const checkpoint = await resolveModelFolder(checkpointPath);
  const saved = await savedSettings(checkpoint);
  const { model, adapted } = await loadTrainedModel(checkpoint, await getBackendByName('cpu'), saved);
  try {
    if (!adapted) throw new Error(`${checkpoint} was trained with --method full; there are no adapters to merge`);
    if (flags.adapterOut) await saveAdapter(adapted, flags.adapterOut);
    const { weights, created } = adapted.mergedWeights();
    const plain = new LlamaForCausalLM(model.config, { dtype: model.dtype, backend: model.backend, initialize: false });
    try {
      plain.loadStateDict(weights);
      await plain.savePretrained(flags.out);
      await copyTokenizerFiles(checkpoint, flags.out);
    } finally {
      plain.dispose();
      for (const t of created) t.dispose();
    }
    return {
      checkpoint,
      method: saved.method ?? 'full',
      merged_layers: adapted.layers.length,
      out: flags.out,
      adapter_out: flags.adapterOut ?? null,
    };
  } finally {
    model.dispose();
  }
}
