import { describe, expect, it } from 'vitest';
import { createMetaBackend, META_READ_LIMIT } from '../../../src/backends/meta/index.js';
import { MemoryTracker } from '../../../src/memory.js';

/** Bytes per memory category, in the tracker's order: parameter, gradient, optimizer, activation, other. */
const byCategory = (parameter: number, gradient: number, optimizer: number, activation: number, other: number) => ({
  parameter,
  gradient,
  optimizer,
  activation,
  other,
});

describe('meta backend: storage and the memory tracker', () => {
  it('reports computes = false and supports every dtype', () => {
    const meta = createMetaBackend();
    expect(meta.name).toBe('meta');
    expect(meta.computes).toBe(false);
    for (const dtype of ['float32', 'float64', 'bfloat16', 'float16', 'int32', 'uint8'] as const) {
      expect(meta.supportsDType(dtype)).toBe(true);
    }
  });

  it('gives storages their size, dtype, byte length, category and distinct ids', () => {
    const meta = createMetaBackend();
    const a = meta.alloc(10, 'bfloat16', 'parameter');
    const b = meta.alloc(3, 'float64', 'optimizer');
    expect([a.size, a.dtype, a.byteLength, a.category, a.backend]).toEqual([10, 'bfloat16', 20, 'parameter', meta]);
    expect([b.size, b.dtype, b.byteLength, b.category]).toEqual([3, 'float64', 24, 'optimizer']);
    expect(a.id).not.toBe(b.id);
  });

  it('tracks live and peak bytes per category through alloc, retag and free', () => {
    const meta = createMetaBackend();
    const t = meta.tracker;
    const w = meta.alloc(100, 'float32', 'parameter'); // 400 B
    const g = meta.alloc(100, 'bfloat16', 'gradient'); // 200 B
    const act = meta.alloc(50, 'float32', 'activation'); // 200 B
    let s = t.snapshot();
    expect(s.live).toEqual(byCategory(400, 200, 0, 200, 0));
    expect(s.totalLive).toBe(800);
    expect(s.liveAllocations).toBe(3);

    meta.retag(act, 'gradient');
    s = t.snapshot();
    expect(act.category).toBe('gradient');
    expect(s.live.activation).toBe(0);
    expect(s.live.gradient).toBe(400);
    expect(s.peak.activation).toBe(200);
    expect(s.peak.gradient).toBe(400);
    expect(s.totalLive).toBe(800);

    meta.free(g);
    const m = meta.alloc(100, 'float32', 'optimizer'); // 400 B: total 1000, a new peak
    s = t.snapshot();
    expect(s.live).toEqual(byCategory(400, 200, 400, 0, 0));
    expect(s.totalPeak).toBe(1000);
    expect(s.atPeak).toEqual(byCategory(400, 200, 400, 0, 0));

    meta.free(act);
    meta.free(m);
    meta.free(w);
    s = t.snapshot();
    expect(s.totalLive).toBe(0);
    expect(s.liveAllocations).toBe(0);
    expect(s.peak).toEqual(byCategory(400, 400, 400, 200, 0));
    expect(s.totalPeak).toBe(1000);
  });

  it('reports to a tracker it is given', () => {
    const tracker = new MemoryTracker();
    const meta = createMetaBackend({ tracker });
    meta.alloc(8, 'uint8', 'other');
    expect(meta.tracker).toBe(tracker);
    expect(tracker.snapshot().live.other).toBe(8);
  });

  it('allocates LLaMA-7B-sized storages without using memory', () => {
    const meta = createMetaBackend();
    const before = process.memoryUsage().rss;
    const storages = Array.from({ length: 8 }, () => meta.alloc(6.7e9, 'bfloat16', 'parameter'));
    const grown = process.memoryUsage().rss - before;
    expect(storages[0]!.byteLength).toBe(13.4e9);
    expect(meta.tracker.snapshot().live.parameter).toBe(8 * 13.4e9);
    // 107 GB "allocated"; the process grew by far less than one real 13.4 GB buffer would need.
    expect(grown).toBeLessThan(64 * 1024 * 1024);
  });

  it('throws on a double free and on any use after free', async () => {
    const meta = createMetaBackend();
    const s = meta.alloc(4, 'float32', 'activation');
    meta.free(s);
    expect(() => meta.free(s)).toThrow(/meta\.free: storage .* was already freed/);
    expect(() => meta.retag(s, 'other')).toThrow(/meta\.retag: .*already freed/);
    expect(() => meta.run('fill', { out: s }, { value: 0 })).toThrow(/fill: out .*already freed/);
    await expect(meta.read(s)).rejects.toThrow(/already freed/);
    expect(meta.tracker.snapshot().liveAllocations).toBe(0);
  });

  it('rejects storages of another backend', () => {
    const meta = createMetaBackend();
    const other = createMetaBackend();
    const foreign = other.alloc(4, 'float32', 'activation');
    expect(() => meta.free(foreign)).toThrow(/meta\.free: storage must be a storage of this meta backend/);
    const mine = meta.alloc(4, 'float32', 'activation');
    expect(() => meta.run('unary', { x: foreign, out: mine }, { op: 'exp' })).toThrow(
      /unary: x must be a storage of this meta backend/,
    );
    expect(() => meta.run('unary', { x: { size: 4 } as never, out: mine }, { op: 'exp' })).toThrow(
      /x must be a storage of this meta backend/,
    );
  });

  it('rejects bad alloc and retag arguments', () => {
    const meta = createMetaBackend();
    expect(() => meta.alloc(-1, 'float32', 'other')).toThrow(
      /meta\.alloc: size must be a non-negative integer; got -1/,
    );
    expect(() => meta.alloc(1.5, 'float32', 'other')).toThrow(/got 1\.5/);
    expect(() => meta.alloc(4, 'float8' as never, 'other')).toThrow(/unknown dtype "float8"/);
    expect(() => meta.alloc(4, 'float32', 'weights' as never)).toThrow(
      /unknown memory category "weights"; expected one of parameter, gradient/,
    );
    const s = meta.alloc(4, 'float32', 'other');
    expect(() => meta.retag(s, 'nope' as never)).toThrow(/meta\.retag: unknown memory category "nope"/);
    expect(s.category).toBe('other');
    expect(meta.tracker.snapshot().liveAllocations).toBe(1);
  });

  it('reads zeros of the right type and size, and refuses huge reads', async () => {
    const meta = createMetaBackend();
    const f = await meta.read(meta.alloc(5, 'float32', 'other'));
    expect(f).toBeInstanceOf(Float32Array);
    expect(Array.from(f)).toEqual([0, 0, 0, 0, 0]);
    expect(await meta.read(meta.alloc(3, 'bfloat16', 'other'))).toBeInstanceOf(Uint16Array);
    expect(await meta.read(meta.alloc(3, 'int32', 'other'))).toBeInstanceOf(Int32Array);
    expect(await meta.read(meta.alloc(3, 'uint8', 'other'))).toBeInstanceOf(Uint8Array);
    expect(await meta.read(meta.alloc(3, 'float64', 'other'))).toBeInstanceOf(Float64Array);
    expect((await meta.read(meta.alloc(META_READ_LIMIT, 'uint8', 'other'))).length).toBe(META_READ_LIMIT);
    const huge = meta.alloc(6.7e9, 'bfloat16', 'parameter');
    await expect(meta.read(huge)).rejects.toThrow(
      /meta\.read: refusing to read 6700000000 elements \(limit 16777216\)/,
    );
  });

  it('checks written data type and length, and keeps nothing', async () => {
    const meta = createMetaBackend();
    const s = meta.alloc(3, 'bfloat16', 'parameter');
    meta.write(s, new Uint16Array([1, 2, 3]));
    expect(Array.from(await meta.read(s))).toEqual([0, 0, 0]);
    expect(() => meta.write(s, new Float32Array(3))).toThrow(
      /meta\.write: a bfloat16 storage takes a Uint16Array; got Float32Array/,
    );
    expect(() => meta.write(s, new Uint16Array(4))).toThrow(/data has 4 elements; the storage holds 3/);
  });

  it('is unusable after destroy, but keeps leaks visible', async () => {
    const meta = createMetaBackend();
    const s = meta.alloc(4, 'float32', 'activation');
    meta.destroy();
    expect(() => meta.alloc(1, 'float32', 'other')).toThrow(/meta\.alloc: the meta backend was destroyed/);
    expect(() => meta.free(s)).toThrow(/destroyed/);
    await expect(meta.sync()).rejects.toThrow(/destroyed/);
    expect(meta.tracker.snapshot().live.activation).toBe(16);
  });
});
