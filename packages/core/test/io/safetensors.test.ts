import { readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { float32ToBfloat16Bits, float32ToFloat16Bits } from '../../src/dtype.js';
import {
  readSafetensors,
  readSafetensorsHeader,
  SAFETENSORS_DTYPES,
  type SafetensorsDType,
  type SafetensorsEntry,
  SafetensorsFile,
  safetensorsItemBytes,
  writeSafetensors,
} from '../../src/io/index.js';
import { useTempDir } from '../helpers/temp-dir.js';

const tmp = useTempDir('galore-safetensors-');

const bytesOf = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** A file laid out by hand from the spec: u64 LE length, JSON header, data. */
function handBuilt(header: string, data: number[]): Uint8Array {
  const json = Buffer.from(header, 'utf8');
  const prefix = [json.length & 0xff, (json.length >> 8) & 0xff, 0, 0, 0, 0, 0, 0];
  return Uint8Array.from([...prefix, ...json, ...data]);
}

describe('writeSafetensors / SafetensorsFile round trip', () => {
  it('round-trips every dtype with its host conversion', async () => {
    const path = join(tmp.path, 'all.safetensors');
    const entries: SafetensorsEntry[] = [
      { name: 'f64', dtype: 'F64', shape: [2], bytes: () => new Float64Array([Math.PI, -1e300]) },
      {
        name: 'f32',
        dtype: 'float32',
        shape: [2, 2],
        bytes: () => new Float32Array([1, -2.5, 3e-8, Number.POSITIVE_INFINITY]),
      },
      { name: 'f16', dtype: 'F16', shape: [2], bytes: () => Uint16Array.from([1.5, -65504].map(float32ToFloat16Bits)) },
      {
        name: 'bf16',
        dtype: 'bfloat16',
        shape: [3],
        bytes: () => Uint16Array.from([1, -3.5, 1e20].map(float32ToBfloat16Bits)),
      },
      { name: 'i64', dtype: 'I64', shape: [3], bytes: () => new BigInt64Array([-(2n ** 31n), 0n, 2n ** 31n - 1n]) },
      { name: 'i32', dtype: 'int32', shape: [2], bytes: () => new Int32Array([-7, 2147483647]) },
      { name: 'i16', dtype: 'I16', shape: [2], bytes: () => new Int16Array([-32768, 123]) },
      { name: 'i8', dtype: 'I8', shape: [3], bytes: () => new Int8Array([-128, 0, 127]) },
      { name: 'u8', dtype: 'uint8', shape: [2], bytes: () => new Uint8Array([0, 255]) },
      { name: 'bool', dtype: 'BOOL', shape: [2], bytes: () => new Uint8Array([1, 0]) },
      { name: 'u16', dtype: 'U16', shape: [1], bytes: () => new Uint16Array([65535]) },
      { name: 'u32', dtype: 'U32', shape: [1], bytes: () => new Uint32Array([2147483647]) },
      { name: 'u64', dtype: 'U64', shape: [1], bytes: () => new BigUint64Array([42n]) },
    ];
    await writeSafetensors(path, entries, { format: 'pt', note: 'ünïcode' });
    const { tensors, metadata } = await readSafetensors(path);
    expect(metadata).toEqual({ format: 'pt', note: 'ünïcode' });
    expect([...tensors.keys()].sort()).toEqual(entries.map((e) => e.name).sort());
    const get = (name: string) => tensors.get(name)!;
    expect(get('f64')).toMatchObject({ dtype: 'float64', storedDType: 'F64', shape: [2] });
    expect([...get('f64').data]).toEqual([Math.PI, -1e300]);
    expect(get('f32').data).toEqual(new Float32Array([1, -2.5, 3e-8, Number.POSITIVE_INFINITY]));
    expect(get('f32').shape).toEqual([2, 2]);
    expect(get('f16')).toMatchObject({ dtype: 'float16', data: Uint16Array.from([0x3e00, 0xfbff]) });
    expect(get('bf16')).toMatchObject({
      dtype: 'bfloat16',
      data: Uint16Array.from([1, -3.5, 1e20].map(float32ToBfloat16Bits)),
    });
    expect(get('i64')).toMatchObject({
      dtype: 'int32',
      storedDType: 'I64',
      data: new Int32Array([-(2 ** 31), 0, 2 ** 31 - 1]),
    });
    expect(get('i32').data).toEqual(new Int32Array([-7, 2147483647]));
    expect(get('i16')).toMatchObject({ dtype: 'int32', data: new Int32Array([-32768, 123]) });
    expect(get('i8')).toMatchObject({ dtype: 'int32', data: new Int32Array([-128, 0, 127]) });
    expect(get('u8')).toMatchObject({ dtype: 'uint8', data: new Uint8Array([0, 255]) });
    expect(get('bool')).toMatchObject({ dtype: 'uint8', storedDType: 'BOOL', data: new Uint8Array([1, 0]) });
    expect(get('u16').data).toEqual(new Int32Array([65535]));
    expect(get('u32').data).toEqual(new Int32Array([2147483647]));
    expect(get('u64').data).toEqual(new Int32Array([42]));
  });

  it('round-trips the raw bytes of random tensor sets (property)', async () => {
    const entry = fc.record({
      dtype: fc.constantFrom(...SAFETENSORS_DTYPES),
      shape: fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 3 }),
      seed: fc.integer({ min: 0, max: 255 }),
    });
    const names = fc.uniqueArray(
      fc.string({ minLength: 1, maxLength: 6 }).filter((s) => s !== '__metadata__'),
      { maxLength: 6 },
    );
    let run = 0;
    await fc.assert(
      fc.asyncProperty(names, fc.array(entry, { minLength: 6, maxLength: 6 }), async (tensorNames, specs) => {
        const path = join(tmp.path, `prop-${run++}.safetensors`);
        const data = new Map<string, { dtype: SafetensorsDType; shape: number[]; bytes: Uint8Array }>();
        tensorNames.forEach((name, i) => {
          const { dtype, shape, seed } = specs[i]!;
          const size = shape.reduce((a, b) => a * b, 1) * safetensorsItemBytes(dtype);
          // Values that stay in int32 range for the narrowed integer types: low bytes only.
          const bytes = Uint8Array.from({ length: size }, (_, k) =>
            k % safetensorsItemBytes(dtype) < 2 ? (k * 31 + seed) & 0x7f : 0,
          );
          data.set(name, { dtype, shape, bytes });
        });
        await writeSafetensors(
          path,
          [...data].map(([name, d]) => ({ name, dtype: d.dtype, shape: d.shape, bytes: () => d.bytes })),
        );
        const file = await SafetensorsFile.open(path);
        try {
          expect(file.tensors.size).toBe(data.size);
          for (const [name, d] of data) {
            expect(file.info(name)).toMatchObject({ dtype: d.dtype, shape: d.shape });
            expect(await file.readBytes(name)).toEqual(d.bytes);
          }
        } finally {
          await file.close();
          await rm(path);
        }
      }),
      { numRuns: 25 },
    );
  });

  it('handles scalars, empty tensors and a file with no tensors', async () => {
    const path = join(tmp.path, 'edge.safetensors');
    await writeSafetensors(path, [
      { name: 'scalar', dtype: 'F32', shape: [], bytes: () => new Float32Array([7]) },
      { name: 'empty', dtype: 'F32', shape: [0, 3], bytes: () => new Float32Array(0) },
    ]);
    const { tensors } = await readSafetensors(path);
    expect(tensors.get('scalar')).toMatchObject({ shape: [], data: new Float32Array([7]) });
    expect(tensors.get('empty')).toMatchObject({ shape: [0, 3], data: new Float32Array(0) });

    const none = join(tmp.path, 'none.safetensors');
    await writeSafetensors(none, []);
    // The reference writer's output for an empty dict: "{}" padded with six spaces.
    expect(new Uint8Array(await readFile(none))).toEqual(handBuilt('{}      ', []));
  });
});

describe('byte-exact layout', () => {
  it('matches a file built by hand from the spec (single tensor, no padding needed)', async () => {
    const path = join(tmp.path, 'attn.safetensors');
    await writeSafetensors(path, [
      { name: 'attn.0', dtype: 'F32', shape: [1, 2, 3], bytes: () => new Float32Array([0, 1, 2, 3, 4, 5]) },
    ]);
    const header = '{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}';
    expect(Buffer.byteLength(header)).toBe(64);
    const floats = [0, 0, 0, 0, 0, 0, 0x80, 0x3f, 0, 0, 0, 0x40, 0, 0, 0x40, 0x40, 0, 0, 0x80, 0x40, 0, 0, 0xa0, 0x40];
    expect(new Uint8Array(await readFile(path))).toEqual(handBuilt(header, floats));
  });

  it('sorts by dtype alignment then name, puts metadata first and pads the header with spaces', async () => {
    const path = join(tmp.path, 'sorted.safetensors');
    await writeSafetensors(
      path,
      [
        { name: 'a', dtype: 'U8', shape: [3], bytes: () => new Uint8Array([1, 2, 3]) },
        { name: 'c', dtype: 'F32', shape: [1], bytes: () => new Float32Array([-2]) },
        { name: 'b', dtype: 'F32', shape: [1], bytes: () => new Float32Array([1]) },
        { name: 'h', dtype: 'BF16', shape: [1], bytes: () => new Uint16Array([0x3f80]) },
      ],
      { format: 'pt' },
    );
    const json =
      '{"__metadata__":{"format":"pt"},' +
      '"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},' +
      '"c":{"dtype":"F32","shape":[1],"data_offsets":[4,8]},' +
      '"h":{"dtype":"BF16","shape":[1],"data_offsets":[8,10]},' +
      '"a":{"dtype":"U8","shape":[3],"data_offsets":[10,13]}}';
    const padding = (8 - (json.length % 8)) % 8;
    expect(padding).toBeGreaterThan(0); // the case under test
    const data = [0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0, 0x80, 0x3f, 1, 2, 3];
    expect(new Uint8Array(await readFile(path))).toEqual(handBuilt(json + ' '.repeat(padding), data));
  });

  it('reads a hand-built file whose header lists tensors out of offset order', async () => {
    const path = join(tmp.path, 'unordered.safetensors');
    const header =
      '{"y":{"dtype":"I32","shape":[1],"data_offsets":[4,8]},"x":{"dtype":"I32","shape":[1],"data_offsets":[0,4]}}';
    await writeFile(path, handBuilt(header, [5, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]));
    const file = await SafetensorsFile.open(path);
    expect([...file.tensors.keys()]).toEqual(['x', 'y']);
    expect((await file.read('x')).data).toEqual(new Int32Array([5]));
    expect((await file.read('y')).data).toEqual(new Int32Array([-1]));
    await file.close();
  });
});

describe('header validation', () => {
  async function expectRejected(name: string, bytes: Uint8Array, message: RegExp): Promise<void> {
    const path = join(tmp.path, name);
    await writeFile(path, bytes);
    await expect(SafetensorsFile.open(path)).rejects.toThrow(message);
    await expect(readSafetensorsHeader(path)).rejects.toThrow(path);
  }
  const info = (dtype: string, shape: number[], begin: number, end: number) =>
    JSON.stringify({ dtype, shape, data_offsets: [begin, end] });

  it('rejects a file shorter than the length prefix', async () => {
    await expectRejected('short.st', new Uint8Array([1, 2, 3]), /3 bytes, too short/);
  });
  it('rejects a header length beyond the file', async () => {
    const bytes = handBuilt('{}', []);
    bytes[0] = 200;
    await expectRejected('beyond.st', bytes, /header length 200 goes beyond the end of the file \(10 bytes/);
  });
  it('rejects an absurd header length before allocating it', async () => {
    const bytes = new Uint8Array(16);
    bytes.fill(0xff, 0, 8);
    await expectRejected('huge.st', bytes, /exceeds the 100000000-byte limit/);
  });
  it('rejects a header that is not JSON or not an object', async () => {
    await expectRejected('nonjson.st', handBuilt('{"a": nope}', []), /header is not valid JSON/);
    await expectRejected('array.st', handBuilt('[1,2]', []), /must start with "\{"/);
    await expectRejected('utf8.st', Uint8Array.from([2, 0, 0, 0, 0, 0, 0, 0, 0x7b, 0xff]), /not valid UTF-8/);
  });
  it('rejects unknown and unsupported dtypes, naming the tensor', async () => {
    await expectRejected(
      'dtype.st',
      handBuilt(`{"w":${info('F128', [1], 0, 16)}}`, new Array(16).fill(0)),
      /tensor "w": unknown dtype "F128"; expected one of/,
    );
    await expectRejected(
      'fp8.st',
      handBuilt(`{"w":${info('F8_E4M3', [1], 0, 1)}}`, [0]),
      /tensor "w": dtype F8_E4M3 is valid safetensors but not supported/,
    );
  });
  it('rejects a byte range that does not match the shape', async () => {
    await expectRejected(
      'size.st',
      handBuilt(`{"w":${info('F32', [2, 2], 0, 12)}}`, new Array(12).fill(0)),
      /tensor "w": data_offsets \[0, 12\] span 12 bytes but F32 with shape \[2, 2\] needs 16/,
    );
  });
  it('rejects bad shapes and offsets', async () => {
    await expectRejected(
      'shape.st',
      handBuilt(`{"w":${info('U8', [-1], 0, 0)}}`, []),
      /tensor "w": shape must be an array of non-negative integers/,
    );
    await expectRejected(
      'offs.st',
      handBuilt('{"w":{"dtype":"U8","shape":[1],"data_offsets":[0]}}', [0]),
      /tensor "w": data_offsets must be \[begin, end\]/,
    );
    await expectRejected('back.st', handBuilt(`{"w":${info('U8', [0], 4, 3)}}`, []), /end before they begin/);
  });
  it('rejects overlapping, gapped and incomplete coverage of the buffer', async () => {
    const data = new Array(8).fill(0);
    await expectRejected(
      'overlap.st',
      handBuilt(`{"a":${info('F32', [1], 0, 4)},"b":${info('F32', [1], 2, 6)}}`, data),
      /tensor "b": data_offsets \[2, 6\] overlap tensor "a"/,
    );
    await expectRejected(
      'gap.st',
      handBuilt(`{"a":${info('F32', [1], 0, 4)},"b":${info('U8', [2], 6, 8)}}`, data),
      /tensor "b": .* leave a gap of 2 bytes after tensor "a"/,
    );
    await expectRejected(
      'start.st',
      handBuilt(`{"a":${info('F32', [1], 4, 8)}}`, data),
      /gap of 4 bytes after the start of the data buffer/,
    );
    await expectRejected(
      'tail.st',
      handBuilt(`{"a":${info('F32', [1], 0, 4)}}`, data),
      /tensors cover 4 bytes of the 8-byte data buffer/,
    );
  });
  it('rejects metadata values that are not strings', async () => {
    await expectRejected(
      'meta.st',
      handBuilt('{"__metadata__":{"step":3}}', []),
      /__metadata__\["step"\] must be a string, got 3/,
    );
  });
  it('reports a truncated file clearly', async () => {
    const path = join(tmp.path, 'truncated.safetensors');
    await writeSafetensors(path, [{ name: 'w', dtype: 'F32', shape: [4], bytes: () => new Float32Array(4) }]);
    const { size } = await import('node:fs/promises').then((fs) => fs.stat(path));
    await truncate(path, size - 3);
    await expect(SafetensorsFile.open(path)).rejects.toThrow(
      /truncated\.safetensors: tensor "w": data ends at buffer offset 16 but the file holds only 13 data bytes \(file truncated\?\)/,
    );
  });
  it('names the missing tensor and what the file holds', async () => {
    const path = join(tmp.path, 'one.safetensors');
    await writeSafetensors(path, [{ name: 'w', dtype: 'F32', shape: [1], bytes: () => new Float32Array(1) }]);
    const file = await SafetensorsFile.open(path);
    await expect(file.read('v')).rejects.toThrow(/tensor "v": no such tensor; the file holds: w/);
    await file.close();
  });
  it('refuses I64 values outside int32 with the tensor name and value', async () => {
    const path = join(tmp.path, 'i64.safetensors');
    await writeSafetensors(path, [
      { name: 'ids', dtype: 'I64', shape: [2], bytes: () => new BigInt64Array([1n, 2n ** 40n]) },
    ]);
    const file = await SafetensorsFile.open(path);
    await expect(file.read('ids')).rejects.toThrow(
      /tensor "ids": I64 value 1099511627776 at element 1 does not fit in int32/,
    );
    expect(await file.readBytes('ids')).toEqual(bytesOf(new BigInt64Array([1n, 2n ** 40n])));
    await file.close();
  });
});

describe('writer', () => {
  it('rejects bad entries before touching the disk', async () => {
    const path = join(tmp.path, 'bad.safetensors');
    const w = (name: string, extra: Partial<SafetensorsEntry> = {}) => ({
      name,
      dtype: 'F32' as const,
      shape: [1],
      bytes: () => new Float32Array(1),
      ...extra,
    });
    await expect(writeSafetensors(path, [w('a'), w('a')])).rejects.toThrow(/tensor "a": appears twice/);
    await expect(writeSafetensors(path, [w('__metadata__')])).rejects.toThrow(/__metadata__ is reserved/);
    await expect(writeSafetensors(path, [w('a', { shape: [1.5] })])).rejects.toThrow(
      /tensor "a": shape must be an array of non-negative integers, got \[1.5\]/,
    );
    await expect(writeSafetensors(path, [w('a', { dtype: 'complex' as never })])).rejects.toThrow(
      /unknown dtype "complex"/,
    );
    await expect(writeSafetensors(path, [w('a')], { step: 3 as never })).rejects.toThrow(
      /metadata\["step"\] must be a string/,
    );
    expect((await readdir(tmp.path)).filter((f) => f.startsWith('bad.safetensors'))).toEqual([]);
  });

  it('is atomic: a writer that fails mid-way leaves the old file and no temporary behind', async () => {
    const path = join(tmp.path, 'atomic.safetensors');
    await writeSafetensors(path, [{ name: 'old', dtype: 'F32', shape: [2], bytes: () => new Float32Array([1, 2]) }]);
    const before = await readFile(path);
    const failing: SafetensorsEntry[] = [
      { name: 'a', dtype: 'F32', shape: [1024], bytes: () => new Float32Array(1024).fill(3) },
      {
        name: 'b',
        dtype: 'F32',
        shape: [4],
        bytes: async () => {
          throw new Error('device lost while copying b');
        },
      },
    ];
    await expect(writeSafetensors(path, failing)).rejects.toThrow('device lost while copying b');
    const wrongSize: SafetensorsEntry[] = [{ name: 'c', dtype: 'F16', shape: [3], bytes: () => new Uint16Array(2) }];
    await expect(writeSafetensors(path, wrongSize)).rejects.toThrow(
      /tensor "c": bytes\(\) returned 4 bytes but F16 with shape \[3\] needs 6/,
    );
    expect(await readFile(path)).toEqual(before);
    expect((await readdir(tmp.path)).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });

  it("asks for each tensor's bytes only when writing it", async () => {
    const path = join(tmp.path, 'lazy.safetensors');
    const calls: string[] = [];
    const entry = (name: string): SafetensorsEntry => ({
      name,
      dtype: 'F32',
      shape: [1],
      bytes: async () => {
        calls.push(name);
        return new Float32Array([calls.length]);
      },
    });
    await writeSafetensors(path, [entry('z'), entry('y')]);
    expect(calls).toEqual(['y', 'z']);
    const { tensors } = await readSafetensors(path);
    expect(tensors.get('y')!.data).toEqual(new Float32Array([1]));
  });
});
