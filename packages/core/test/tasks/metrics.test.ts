import { describe, expect, it } from 'vitest';
import {
  accuracy,
  argmaxRows,
  averageRanks,
  f1Score,
  glueMetrics,
  matthewsCorrcoef,
  pearsonCorrelation,
  spearmanCorrelation,
} from '../../src/tasks/index.js';

describe('GLUE metrics against hand-computed values', () => {
  // labels      1 1 1 1 0 0 0 0 0 1
  // predictions 1 1 0 1 0 1 0 0 1 1  -> TP 4, FN 1, FP 2, TN 3
  const labels = [1, 1, 1, 1, 0, 0, 0, 0, 0, 1];
  const preds = [1, 1, 0, 1, 0, 1, 0, 0, 1, 1];

  it('accuracy and F1 of the positive class', () => {
    expect(accuracy(preds, labels)).toBe(0.7);
    expect(f1Score(preds, labels)).toBeCloseTo(8 / 11, 15); // 2*4 / (8 + 2 + 1)
    expect(f1Score(preds, labels, 0)).toBeCloseTo(6 / 9, 15); // class 0: TP 3, FP 1, FN 2
    expect(f1Score([0, 0], [0, 0])).toBe(0);
  });

  it('Matthews correlation', () => {
    // (TP*TN - FP*FN) / sqrt((TP+FP)(TP+FN)(TN+FP)(TN+FN)) = (12 - 2) / sqrt(6*5*5*4)
    expect(matthewsCorrcoef(preds, labels)).toBeCloseTo(10 / Math.sqrt(600), 15);
    expect(matthewsCorrcoef([1, 1, 1], [0, 1, 1])).toBe(0); // constant predictions
    expect(matthewsCorrcoef([0, 1, 0, 1], [0, 1, 0, 1])).toBe(1);
    expect(matthewsCorrcoef([1, 0, 1, 0], [0, 1, 0, 1])).toBe(-1);
    // Three classes, scikit-learn's formula: c=4 correct, s=5, p=[2,2,1], t=[2,1,2]
    // (4*5 - (4+2+2)) / sqrt((25 - 9)(25 - 9)) = 12/16
    expect(matthewsCorrcoef([0, 0, 1, 1, 2], [0, 0, 1, 2, 2])).toBeCloseTo(12 / 16, 15);
  });

  it('Pearson correlation', () => {
    // x mean 2.5, y mean 4; dx = [-1.5,-.5,.5,1.5], dy = [-3,-1,1,3] -> r = 1 exactly
    expect(pearsonCorrelation([1, 2, 3, 4], [1, 3, 5, 7])).toBeCloseTo(1, 15);
    // x=[1,2,3], y=[1,3,2]: dx=[-1,0,1], dy=[-1,1,0]; sxy=1, sxx=2, syy=2 -> 0.5
    expect(pearsonCorrelation([1, 2, 3], [1, 3, 2])).toBeCloseTo(0.5, 15);
    expect(pearsonCorrelation([1, 1, 1], [1, 2, 3])).toBeNaN();
  });

  it('Spearman correlation with average ranks for ties', () => {
    expect([...averageRanks([10, 20, 20, 5, 20])]).toEqual([2, 4, 4, 1, 4]);
    expect([...averageRanks([3, 1, 3, 2])]).toEqual([3.5, 1, 3.5, 2]);
    // x = [1,2,3,4,5] ranks 1..5; y = [1,3,3,2,5] ranks [1,3.5,3.5,2,5]
    // dx = [-2,-1,0,1,2]; dy = [-2,.5,.5,-1,2]; sxy = 4 - .5 + 0 - 1 + 4 = 6.5; sxx = 10;
    // syy = 4 + .25 + .25 + 1 + 4 = 9.5 -> 6.5 / sqrt(95)
    expect(spearmanCorrelation([1, 2, 3, 4, 5], [1, 3, 3, 2, 5])).toBeCloseTo(6.5 / Math.sqrt(95), 15);
    // monotone but not linear: Spearman 1, Pearson below 1
    expect(spearmanCorrelation([1, 2, 3, 4], [1, 10, 100, 1000])).toBeCloseTo(1, 15);
  });

  it('the metrics of each task, named as the glue metric names them', () => {
    expect(glueMetrics('cola', preds, labels)).toEqual({ matthews_correlation: matthewsCorrcoef(preds, labels) });
    expect(glueMetrics('mrpc', preds, labels)).toEqual({ accuracy: 0.7, f1: f1Score(preds, labels) });
    expect(Object.keys(glueMetrics('qqp', preds, labels))).toEqual(['accuracy', 'f1']);
    expect(glueMetrics('sst2', preds, labels)).toEqual({ accuracy: 0.7 });
    const stsb = glueMetrics('stsb', [1, 2, 3], [1, 3, 2]);
    expect(stsb.pearson).toBeCloseTo(0.5, 15);
    expect(stsb.spearmanr).toBeCloseTo(0.5, 15);
    expect(() => accuracy([1], [1, 0])).toThrow('differ in length');
  });

  it('argmax over logit rows, first maximum winning', () => {
    expect([...argmaxRows([0.1, 0.9, 0.5, 0.5, 2, -1], 2)]).toEqual([1, 0, 0]);
  });
});
