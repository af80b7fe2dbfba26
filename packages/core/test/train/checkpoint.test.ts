/** Checkpoint folders: layout, atomic publication, pruning, and clear errors for damaged ones. */
import { mkdir, readdir, readFile, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  CheckpointError,
  CheckpointStore,
  LATEST_FILE,
  LlamaForCausalLM,
  NonFiniteLossError,
  OPTIMIZER_FILE,
  readTrainerState,
  resolveCheckpoint,
  SGD,
  TRAINER_STATE_FILE,
  Trainer,
} from '../../src/index.js';
import type { BatchSource } from '../../src/train/index.js';
import { adamw, corpusDataset, FixedBatches, microModel, pseudoBatch, withTempDir } from './helpers.js';

async function trainedCheckpoint(dir: string, steps = 2): Promise<string> {
  const model = microModel();
  const data = new FixedBatches(Array.from({ length: steps }, (_, i) => pseudoBatch(2, 9, i + 1)));
  const trainer = new Trainer({ model, optimizer: adamw(), data, steps, checkpoints: { dir, every: steps } });
  await trainer.train();
  trainer.dispose();
  model.dispose();
  return trainer.lastCheckpoint!;
}

async function resumeFresh(path: string, data: BatchSource = new FixedBatches([])): Promise<Trainer> {
  const model = microModel();
  const trainer = new Trainer({ model, optimizer: adamw(), data, steps: 10 });
  await trainer.resume(path);
  return trainer;
}

/** A Trainer that fills lm_head.weight with `value` once step `after` is done. */
function poisonedTrainer(
  model: LlamaForCausalLM,
  data: BatchSource,
  o: { dir: string; steps: number; every: number; after: number; value: number },
): Trainer {
  return new Trainer({
    model,
    optimizer: adamw(),
    data,
    steps: o.steps,
    checkpoints: { dir: o.dir, every: o.every },
    onMetrics: (row) => {
      const head = model.stateDict()['lm_head.weight']!;
      if (row.step === o.after) head.backend.run('fill', { out: head.storage }, { value: o.value });
    },
  });
}

describe('checkpoint folders', () => {
  it('hold a Hugging Face model folder, the optimizer state and trainer_state.json with file sizes', async () => {
    await withTempDir(async (dir) => {
      const ckpt = await trainedCheckpoint(dir);
      expect(ckpt).toBe(join(dir, 'step-00000002'));
      expect((await readdir(ckpt)).sort()).toEqual(
        ['config.json', 'model.safetensors', OPTIMIZER_FILE, TRAINER_STATE_FILE].sort(),
      );
      expect((await readFile(join(dir, LATEST_FILE), 'utf8')).trim()).toBe('step-00000002');
      const state = await readTrainerState(ckpt);
      expect(state.step).toBe(2);
      expect(state.tokensSeen).toBe(2 * 2 * 8);
      expect(state.data).toEqual({ next: 2 });
      expect(Object.keys(state.files).sort()).toEqual(['config.json', 'model.safetensors', OPTIMIZER_FILE]);
      // A step count for each of the micro model's 21 parameters (embedding, 2 x 9 per layer, norm, head).
      expect(Object.keys(state.optimizer.values)).toHaveLength(21);
      // The model part loads with fromPretrained alone.
      const loaded = await LlamaForCausalLM.fromPretrained(ckpt);
      expect(loaded.numParameters()).toBe(microModel().numParameters());
      loaded.dispose();
    });
  });

  it('reports a truncated model file by name before changing the model', async () => {
    await withTempDir(async (dir) => {
      const ckpt = await trainedCheckpoint(dir);
      const weights = join(ckpt, 'model.safetensors');
      const size = (await readFile(weights)).byteLength;
      await truncate(weights, Math.floor(size / 2));
      const model = microModel(99);
      const before = model.parameters().map((p) => Array.from(p.dataSync()));
      const trainer = new Trainer({ model, optimizer: adamw(), data: new FixedBatches([]), steps: 10 });
      const error = await trainer.resume(dir).catch((e: unknown) => e);
      expect(model.parameters().map((p) => Array.from(p.dataSync()))).toEqual(before);
      expect(trainer.step).toBe(0);
      expect(error).toBeInstanceOf(CheckpointError);
      expect((error as Error).message).toContain('model.safetensors');
      expect((error as Error).message).toContain('truncated');
      expect((error as Error).message).toContain(`${Math.floor(size / 2)} bytes, but ${size} were written`);
    });
  });

  it('reports a truncated trainer_state.json as invalid JSON, and a missing one as no checkpoint', async () => {
    await withTempDir(async (dir) => {
      const ckpt = await trainedCheckpoint(dir);
      const statePath = join(ckpt, TRAINER_STATE_FILE);
      const text = await readFile(statePath, 'utf8');
      await writeFile(statePath, text.slice(0, text.length / 3));
      await expect(resumeFresh(ckpt)).rejects.toThrow(
        /trainer_state\.json is not valid JSON \(truncated or corrupt\?\)/,
      );
      await mkdir(join(dir, 'empty'));
      await expect(resumeFresh(join(dir, 'empty'))).rejects.toThrow(/holds no checkpoint/);
      await expect(resumeFresh(join(dir, 'nowhere'))).rejects.toThrow(/no such folder/);
    });
  });

  it('refuses an optimizer state saved for another optimizer type', async () => {
    await withTempDir(async (dir) => {
      const ckpt = await trainedCheckpoint(dir);
      const model = microModel();
      const trainer = new Trainer({
        model,
        optimizer: (named) =>
          new SGD(
            named.map(([, p]) => p),
            { lr: 0.1 },
          ),
        data: new FixedBatches([]),
        steps: 4,
      });
      await expect(trainer.resume(ckpt)).rejects.toThrow(/optimizer state does not fit this optimizer.*AdamW.*SGD/);
    });
  });
});

describe('CheckpointStore', () => {
  it('publishes only complete checkpoints: a failed write leaves the previous one and no temporary folder', async () => {
    await withTempDir(async (dir) => {
      const store = new CheckpointStore(dir);
      await store.save(1, async (d) => writeFile(join(d, TRAINER_STATE_FILE), '{}'));
      await expect(
        store.save(2, async (d) => {
          await writeFile(join(d, 'model.safetensors'), 'partial');
          throw new Error('disk full');
        }),
      ).rejects.toThrow('disk full');
      expect(await readdir(dir)).toEqual(expect.arrayContaining(['step-00000001', LATEST_FILE]));
      expect(await readdir(dir)).toHaveLength(2);
      expect(await store.latest()).toBe(join(dir, 'step-00000001'));
    });
  });

  it('ignores (and later removes) the temporary folder of a write that a crash interrupted', async () => {
    await withTempDir(async (dir) => {
      const store = new CheckpointStore(dir);
      await store.save(1, async (d) => writeFile(join(d, TRAINER_STATE_FILE), '{}'));
      await mkdir(join(dir, '.step-00000002.tmp-999-abcd'));
      expect(await store.latest()).toBe(join(dir, 'step-00000001'));
      expect(await resolveCheckpoint(dir)).toBe(join(dir, 'step-00000001'));
      await store.save(3, async (d) => writeFile(join(d, TRAINER_STATE_FILE), '{}'));
      expect((await readdir(dir)).sort()).toEqual([LATEST_FILE, 'step-00000001', 'step-00000003']);
    });
  });

  it('keeps the newest `keep` checkpoints and never deletes newer ones of an abandoned run', async () => {
    await withTempDir(async (dir) => {
      const store = new CheckpointStore(dir, { keep: 2 });
      const write = async (d: string) => writeFile(join(d, TRAINER_STATE_FILE), '{}');
      for (const step of [10, 20, 30]) await store.save(step, write);
      expect((await store.list()).map((c) => c.step)).toEqual([20, 30]);
      // Resumed from step 20 and saving step 25: 30 (abandoned) stays, 20 is the one older kept.
      await store.save(25, write);
      expect((await store.list()).map((c) => c.step)).toEqual([20, 25, 30]);
      expect(await store.latest()).toBe(join(dir, 'step-00000025'));
      expect(() => new CheckpointStore(dir, { keep: -1 })).toThrow(/keep must be an integer >= 0, got -1/);
    });
  });
});

describe('CheckpointStore on a full or failing disk (issue 9 item 12, 13)', () => {
  const write = async (d: string) => writeFile(join(d, TRAINER_STATE_FILE), '{}');

  it('keep 2 deletes the oldest before writing, so the disk needs room for two checkpoints, not three', async () => {
    await withTempDir(async (dir) => {
      const store = new CheckpointStore(dir, { keep: 2 });
      for (const step of [1, 2]) await store.save(step, write);
      let during: string[] = [];
      await store.save(3, async (d) => {
        during = (await store.list()).map((c) => c.dir);
        await write(d);
      });
      expect(during).toEqual([join(dir, 'step-00000002')]);
      expect((await store.list()).map((c) => c.step)).toEqual([2, 3]);
      // keep 1 never deletes the only intact checkpoint before the new one is complete.
      const single = new CheckpointStore(dir, { keep: 1 });
      await single.save(4, async (d) => {
        during = (await single.list()).map((c) => c.dir);
        await write(d);
      });
      expect(during).toEqual([join(dir, 'step-00000003')]);
      expect((await single.list()).map((c) => c.step)).toEqual([4]);
    });
  });

  it('names the file and the intact checkpoint when the disk is full or read-only', async () => {
    await withTempDir(async (dir) => {
      const store = new CheckpointStore(dir);
      await store.save(1, write);
      for (const code of ['ENOSPC', 'EROFS']) {
        const failing = async (d: string) => {
          const error = new Error(`${code}: failed, write`) as NodeJS.ErrnoException;
          error.code = code;
          error.path = join(d, 'model.safetensors');
          throw error;
        };
        const error = (await store.save(2, failing).catch((e: unknown) => e)) as Error;
        expect(error).toBeInstanceOf(CheckpointError);
        expect(error.message).toContain(`checkpoint ${join(dir, 'step-00000002')}: cannot be written: ${code}`);
        expect(error.message).toContain('model.safetensors');
        expect(error.message).toContain(`the last intact checkpoint is ${join(dir, 'step-00000001')}`);
      }
    });
  });

  it('removes the temporary file of a `latest` write that a kill interrupted', async () => {
    await withTempDir(async (dir) => {
      const store = new CheckpointStore(dir);
      await store.save(1, write);
      await writeFile(join(dir, 'latest.tmp-4242-0123456789ab'), 'step-0');
      await store.save(2, write);
      expect((await readdir(dir)).sort()).toEqual([LATEST_FILE, 'step-00000001', 'step-00000002']);
    });
  });
});

describe('non-finite weights (issue 9 item 6)', () => {
  it('are never checkpointed; the error names the weight and the real last good checkpoint', async () => {
    await withTempDir(async (dir) => {
      const model = microModel();
      const data = new FixedBatches(Array.from({ length: 4 }, (_, i) => pseudoBatch(2, 9, i + 1)));
      // Step 2's update leaves an infinity in a weight (as a huge lr would); its loss was finite.
      const trainer = poisonedTrainer(model, data, { dir, steps: 4, every: 1, after: 2, value: Infinity });
      const error = (await trainer.train().catch((e: unknown) => e)) as NonFiniteLossError;
      expect(error).toBeInstanceOf(NonFiniteLossError);
      expect(error.message).toMatch(/^training stopped at step 2: the weight lm_head\.weight holds Infinity/);
      expect(error.message).toContain(`the last good checkpoint is ${join(dir, 'step-00000001')}`);
      expect((await readdir(dir)).sort()).toEqual([LATEST_FILE, 'step-00000001']);
      trainer.dispose();
      model.dispose();
    });
  });
});

describe('non-finite loss', () => {
  it('stops with a message naming the step and leaves the last checkpoint intact and resumable', async () => {
    await withTempDir(async (dir) => {
      const model = microModel();
      const data = await corpusDataset();
      // Poison a weight after step 3: step 4's forward pass yields NaN.
      const trainer = poisonedTrainer(model, data, { dir, steps: 10, every: 2, after: 3, value: Number.NaN });
      const error = await trainer.train().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(NonFiniteLossError);
      expect((error as NonFiniteLossError).step).toBe(4);
      expect((error as Error).message).toMatch(/^training stopped at step 4: the loss is NaN/);
      const good = join(dir, 'step-00000002');
      expect((error as Error).message).toContain(`the last good checkpoint is ${good}`);
      expect(trainer.step).toBe(3);
      expect((await readdir(dir)).sort()).toEqual([LATEST_FILE, 'step-00000002']);
      const resumed = await resumeFresh(dir, await corpusDataset());
      expect(resumed.step).toBe(2);
      const head = await LlamaForCausalLM.fromPretrained(good);
      expect(Array.from(head.stateDict()['lm_head.weight']!.dataSync()).every(Number.isFinite)).toBe(true);
      head.dispose();
      await data.close();
    });
  });
});
