import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createMetaBackend, tensor, zeros } from '../../src/index.js';
import { readSafetensorsHeader } from '../../src/io/index.js';
import { loadTensors, loadTensorsInto, saveTensors, streamTensors } from '../../src/io/tensors.js';
import { useTempDir } from '../helpers/temp-dir.js';

const tmp = useTempDir('tensors-io-');

describe('saveTensors / loadTensors', () => {
  it('round-trips values, shapes and dtypes (f32, bf16, f64, int32) with metadata', async () => {
    const path = join(tmp.path, 'mixed.safetensors');
    const source = {
      f32: tensor([
        [1.5, -2],
        [3, 4.25],
      ]),
      bf16: tensor([1, -0.5, 256], { dtype: 'bfloat16' }),
      f64: tensor([Math.PI], { dtype: 'float64' }),
      ids: tensor([7, -3], { dtype: 'int32' }),
      scalar: tensor(5),
    };
    await saveTensors(path, source, { format: 'pt' });
    const header = await readSafetensorsHeader(path);
    expect(header.metadata).toEqual({ format: 'pt' });
    expect(Object.fromEntries([...header.tensors].map(([n, t]) => [n, t.dtype]))).toEqual({
      f32: 'F32',
      bf16: 'BF16',
      f64: 'F64',
      ids: 'I32',
      scalar: 'F32',
    });
    const loaded = await loadTensors(path);
    for (const [name, t] of Object.entries(source)) {
      expect(loaded[name]!.dtype).toBe(t.dtype);
      expect(loaded[name]!.shape).toEqual(t.shape);
      expect(Array.from(loaded[name]!.dataSync())).toEqual(Array.from(t.dataSync()));
    }
    expect(Object.keys(await loadTensors(path, { names: ['ids'] }))).toEqual(['ids']);
    await expect(loadTensors(path, { names: ['ids', 'nope'] })).rejects.toThrow(/has no tensor named nope; it holds/);
  });

  it('streams one tensor at a time onto the requested backend', async () => {
    const path = join(tmp.path, 'stream.safetensors');
    await saveTensors(path, { a: tensor([1, 2]), b: tensor([3]) });
    const meta = createMetaBackend();
    const seen: string[] = [];
    for await (const [name, t] of streamTensors(path, { backend: meta })) {
      expect(t.backend).toBe(meta);
      seen.push(name);
      t.dispose();
    }
    expect(seen.sort()).toEqual(['a', 'b']);
    expect(meta.tracker.snapshot().liveAllocations).toBe(0);
  });
});

describe('loadTensorsInto', () => {
  it('fills existing tensors in place, converting BF16 to float32, and reports the keys', async () => {
    const path = join(tmp.path, 'into.safetensors');
    await saveTensors(path, { w: tensor([0.5, 1.5], { dtype: 'bfloat16' }), extra: tensor([0]) });
    const w = zeros([2]);
    const result = await loadTensorsInto(path, { w, v: zeros([1]) }, { strict: false });
    expect(Array.from(w.dataSync())).toEqual([0.5, 1.5]);
    expect(result).toEqual({
      missingKeys: ['v'],
      unexpectedKeys: ['extra'],
      fileKeys: expect.arrayContaining(['w', 'extra']),
    });
    await expect(loadTensorsInto(path, { w })).rejects.toThrow(/unexpected keys: extra/);
    await expect(loadTensorsInto(path, { w: zeros([3]), extra: zeros([1]) })).rejects.toThrow(
      /w: expected shape \[3\], got \[2\]/,
    );
  });
});
