import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { sampleToken, samplingDistribution } from '../src/sampling.js';

const logits = [1, 3, 2, 0.5, 3.5];

describe('sampling', () => {
  it('temperature 0 picks the largest logit', () => {
    expect(samplingDistribution(logits, { temperature: 0 })).toEqual({ ids: [4], probs: [1] });
    expect(sampleToken(logits, { temperature: 0 }, () => 0.999)).toBe(4);
  });

  it('at temperature 1 without filters the probabilities are softmax(logits), most likely first', () => {
    const { ids, probs } = samplingDistribution(logits, { temperature: 1 });
    const z = logits.reduce((a, l) => a + Math.exp(l), 0);
    expect(ids).toEqual([4, 1, 2, 0, 3]);
    expect(probs).toHaveLength(ids.length);
    for (const [i, id] of ids.entries()) expect(probs[i]).toBeCloseTo(Math.exp(logits[id]!) / z, 12);
  });

  it('top-k keeps the k most likely tokens; top-p the fewest whose mass reaches p', () => {
    expect(samplingDistribution(logits, { temperature: 1, topK: 2 }).ids).toEqual([4, 1]);
    // softmax masses 0.510, 0.309, 0.114, 0.042, 0.025: cumulative 0.510, 0.819, 0.933, ...
    expect(samplingDistribution(logits, { temperature: 1, topP: 0.5 }).ids).toEqual([4]);
    expect(samplingDistribution(logits, { temperature: 1, topP: 0.8 }).ids).toEqual([4, 1]);
    expect(samplingDistribution(logits, { temperature: 1, topP: 0.85 }).ids).toEqual([4, 1, 2]);
  });

  it('draws by inverting the cumulative distribution', () => {
    const { probs } = samplingDistribution(logits, { temperature: 1, topK: 2 });
    expect(sampleToken(logits, { temperature: 1, topK: 2 }, () => probs[0]! - 1e-9)).toBe(4);
    expect(sampleToken(logits, { temperature: 1, topK: 2 }, () => probs[0]! + 1e-9)).toBe(1);
  });

  it('always yields a normalised distribution over a minimal nucleus (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: -20, max: 20, noNaN: true }), { minLength: 1, maxLength: 40 }),
        fc.double({ min: 0.05, max: 5, noNaN: true }),
        fc.integer({ min: 0, max: 10 }),
        fc.double({ min: 0.01, max: 1, noNaN: true }),
        (values, temperature, topK, topP) => {
          const { ids, probs } = samplingDistribution(values, { temperature, topK, topP });
          expect(ids.length).toBeGreaterThan(0);
          if (topK > 0) expect(ids.length).toBeLessThanOrEqual(topK);
          expect(probs.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
          for (let i = 1; i < ids.length; i++) expect(values[ids[i]!]!).toBeLessThanOrEqual(values[ids[i - 1]!]!);
        },
      ),
    );
  });

  it('rejects bad options with their names', () => {
    expect(() => samplingDistribution(logits, { temperature: -1 })).toThrow(
      'temperature must be a finite number >= 0, got -1',
    );
    expect(() => samplingDistribution(logits, { temperature: 1, topP: 0 })).toThrow('topP must be in (0, 1], got 0');
    expect(() => samplingDistribution(logits, { temperature: 1, topK: 1.5 })).toThrow(
      'topK must be an integer >= 0, got 1.5',
    );
  });
});
