/**
 * scatterAddRows' float32 loop (indexing.ts): repeated ids accumulate in place with one float32
 * rounding per addition, exactly as the general loop does, on rows of odd length.
 */
import { describe, expect, it } from 'vitest';
import { backend, randomValues, storage, values } from './helpers.js';

describe('scatterAddRows on float32', () => {
  it('rounds each sum to float32 in id order, repeated ids included', () => {
    const [rows, dim] = [5, 7];
    const ids = [4, 0, 4, 2, 4, 0];
    const src = randomValues(ids.length * dim, 3, 100).map(Math.fround);
    const initial = randomValues(rows * dim, 4, 1e-3).map(Math.fround);
    const out = storage('float32', initial);
    backend.run('scatterAddRows', { src: storage('float32', src), ids: storage('int32', ids), out }, { dim });
    const expected = initial.slice();
    ids.forEach((id, i) => {
      for (let j = 0; j < dim; j++) {
        const k = id * dim + j;
        expected[k] = Math.fround((expected[k] as number) + (src[i * dim + j] as number));
      }
    });
    expect(values(out)).toEqual(expected);
    // No ids: the output is left as it was.
    const untouched = storage('float32', initial);
    backend.run('scatterAddRows', { src: storage('float32', []), ids: storage('int32', []), out: untouched }, { dim });
    expect(values(untouched)).toEqual(initial);
  });
});
