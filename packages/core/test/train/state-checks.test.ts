/**
 * Issue 9 items 5 and 10: a checkpoint is checked against the run that resumes it before anything
 * loads: its config.json, every optimizer state tensor, and the trainer state's entries. Each
 * error names the file and the entry.
 */
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  CheckpointError,
  LlamaForCausalLM,
  loadTensors,
  manualSeed,
  OPTIMIZER_FILE,
  saveTensors,
  type Tensor,
  TRAINER_STATE_FILE,
  Trainer,
  zeros,
} from '../../src/index.js';
import { adamw, FixedBatches, MICRO_LLAMA, microModel, pseudoBatch, withTempDir } from './helpers.js';

async function checkpointOf(dir: string): Promise<string> {
  const model = microModel();
  const data = new FixedBatches([pseudoBatch(2, 9, 1), pseudoBatch(2, 9, 2)]);
  const trainer = new Trainer({ model, optimizer: adamw(), data, steps: 2, checkpoints: { dir, every: 2 } });
  await trainer.train();
  trainer.dispose();
  model.dispose();
  return trainer.lastCheckpoint!;
}

async function resumeError(checkpoint: string, model = microModel()): Promise<Error> {
  const trainer = new Trainer({ model, optimizer: adamw(), data: new FixedBatches([]), steps: 10 });
  const error = await trainer.resume(checkpoint).then(
    () => new Error('resumed'),
    (e: Error) => e,
  );
  trainer.dispose();
  model.dispose();
  return error;
}

/** Rewrites the optimizer file through `edit` and records its new size, as if it had been saved so. */
async function editOptimizerState(checkpoint: string, edit: (tensors: Record<string, Tensor>) => void): Promise<void> {
  const file = join(checkpoint, OPTIMIZER_FILE);
  const tensors = await loadTensors(file);
  edit(tensors);
  await saveTensors(file, tensors, { format: 'pt' });
  for (const t of Object.values(tensors)) t.dispose();
  const size = (await stat(file)).size;
  await editTrainerState(checkpoint, (state) => {
    (state.files as Record<string, number>)[OPTIMIZER_FILE] = size;
  });
}

async function editTrainerState(checkpoint: string, edit: (state: Record<string, unknown>) => void): Promise<void> {
  const path = join(checkpoint, TRAINER_STATE_FILE);
  const state = JSON.parse(await readFile(path, 'utf8'));
  edit(state);
  await writeFile(path, JSON.stringify(state));
}

describe('resuming checks the checkpoint against the run first', () => {
  it('refuses a config.json that describes another model', async () => {
    await withTempDir(async (dir) => {
      const checkpoint = await checkpointOf(dir);
      manualSeed(1);
      const wider = new LlamaForCausalLM({ ...MICRO_LLAMA, intermediate_size: 48 });
      const error = await resumeError(checkpoint, wider);
      expect(error).toBeInstanceOf(CheckpointError);
      expect(error.message).toContain(`checkpoint ${checkpoint}: config.json does not match the model being trained`);
      expect(error.message).toContain('intermediate_size 32 in the checkpoint, 48 in the model');
    });
  });

  it('names a missing or wrong-sized moment in optimizer.safetensors', async () => {
    await withTempDir(async (dir) => {
      const checkpoint = await checkpointOf(dir);
      await editOptimizerState(checkpoint, (tensors) => {
        tensors['state.0.exp_avg']!.dispose();
        delete tensors['state.0.exp_avg'];
        tensors['state.1.exp_avg_sq']!.dispose();
        tensors['state.1.exp_avg_sq'] = zeros([3, 3]);
      });
      const error = await resumeError(checkpoint);
      expect(error.message).toContain(`checkpoint ${checkpoint}: optimizer.safetensors does not fit this optimizer`);
      expect(error.message).toContain('state.0.exp_avg (of model.embed_tokens.weight) is missing');
      expect(error.message).toMatch(/state\.1\.exp_avg_sq \(of \S+\) is float32 \[3, 3\], expected float32 \[/);
    });
  });

  it('names an absurd step and an empty rng in trainer_state.json', async () => {
    await withTempDir(async (dir) => {
      const checkpoint = await checkpointOf(dir);
      await editTrainerState(checkpoint, (state) => {
        state.step = 1_000_000;
        state.rng = {};
      });
      const error = await resumeError(checkpoint);
      expect(error.message).toContain(`checkpoint ${checkpoint}: trainer_state.json has missing or invalid fields`);
      expect(error.message).toContain('rng.seed undefined');
      expect(error.message).toContain('step 1000000 (the schedule is at step 2)');
    });
  });
});
