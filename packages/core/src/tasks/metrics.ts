/**
 * The metrics GLUE reports, defined as scikit-learn and SciPy compute them (the definitions behind
 * the Hugging Face `glue` metric that `run_glue.py` uses): Matthews correlation for CoLA, Pearson
 * and Spearman correlation for STS-B, accuracy and F1 of the positive class for MRPC and QQP,
 * accuracy for the rest.
 */
import { GLUE_TASKS, type GlueMetricName, type GlueTask, type GlueTaskName } from './glue-tasks.js';

type Values = ArrayLike<number>;

function checkPair(where: string, a: Values, b: Values): void {
  if (a.length !== b.length) {
    throw new RangeError(`${where}: predictions and labels differ in length (${a.length} vs ${b.length})`);
  }
  if (a.length === 0) throw new RangeError(`${where}: no examples`);
}

/** Fraction of predictions equal to the label. */
export function accuracy(predictions: Values, labels: Values): number {
  checkPair('accuracy', predictions, labels);
  let correct = 0;
  for (let i = 0; i < labels.length; i++) if (predictions[i] === labels[i]) correct++;
  return correct / labels.length;
}

/** F1 of the class `positive` (default 1): 2TP / (2TP + FP + FN); 0 when there is neither a positive label nor prediction (scikit-learn's zero_division). */
export function f1Score(predictions: Values, labels: Values, positive = 1): number {
  checkPair('f1Score', predictions, labels);
  let tp = 0;
  let fp = 0;
  let fn = 0;
  for (let i = 0; i < labels.length; i++) {
    const p = predictions[i] === positive;
    const t = labels[i] === positive;
    if (p && t) tp++;
    else if (p) fp++;
    else if (t) fn++;
  }
  const denominator = 2 * tp + fp + fn;
  return denominator === 0 ? 0 : (2 * tp) / denominator;
}

/**
 * Matthews correlation coefficient, in scikit-learn's multiclass form (equal to the binary
 * (TP·TN − FP·FN) / sqrt((TP+FP)(TP+FN)(TN+FP)(TN+FN))); 0 when the denominator is 0.
 */
export function matthewsCorrcoef(predictions: Values, labels: Values): number {
  checkPair('matthewsCorrcoef', predictions, labels);
  const predicted = new Map<number, number>();
  const actual = new Map<number, number>();
  let correct = 0;
  const n = labels.length;
  for (let i = 0; i < n; i++) {
    const p = predictions[i]!;
    const t = labels[i]!;
    predicted.set(p, (predicted.get(p) ?? 0) + 1);
    actual.set(t, (actual.get(t) ?? 0) + 1);
    if (p === t) correct++;
  }
  let pt = 0;
  let pp = 0;
  let tt = 0;
  for (const [k, count] of predicted) {
    pt += count * (actual.get(k) ?? 0);
    pp += count * count;
  }
  for (const count of actual.values()) tt += count * count;
  const covariance = correct * n - pt;
  const denominator = Math.sqrt((n * n - pp) * (n * n - tt));
  return denominator === 0 ? 0 : covariance / denominator;
}

/** Pearson correlation coefficient; NaN when either side is constant (as SciPy returns). */
export function pearsonCorrelation(x: Values, y: Values): number {
  checkPair('pearsonCorrelation', x, y);
  const n = x.length;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += x[i]!;
    my += y[i]!;
  }
  mx /= n;
  my /= n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = x[i]! - mx;
    const dy = y[i]! - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  if (sxx === 0 || syy === 0) return Number.NaN;
  return Math.max(-1, Math.min(1, sxy / Math.sqrt(sxx * syy)));
}

/** 1-based ranks, ties given the average of the ranks they span (SciPy's rankdata 'average'). */
export function averageRanks(values: Values): Float64Array {
  const n = values.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => values[a]! - values[b]!);
  const ranks = new Float64Array(n);
  for (let start = 0; start < n; ) {
    let end = start + 1;
    while (end < n && values[order[end]!] === values[order[start]!]) end++;
    const rank = (start + 1 + end) / 2; // mean of start+1 .. end
    for (let k = start; k < end; k++) ranks[order[k]!] = rank;
    start = end;
  }
  return ranks;
}

/** Spearman's rank correlation: Pearson's of the average ranks. */
export function spearmanCorrelation(x: Values, y: Values): number {
  checkPair('spearmanCorrelation', x, y);
  return pearsonCorrelation(averageRanks(x), averageRanks(y));
}

/** Class ids from logits laid out [n, numLabels] row by row (first maximum wins, as argmax does). */
export function argmaxRows(logits: Values, numLabels: number): Int32Array {
  if (logits.length % numLabels !== 0) {
    throw new RangeError(`argmaxRows: ${logits.length} values is not a multiple of ${numLabels} labels`);
  }
  const out = new Int32Array(logits.length / numLabels);
  for (let r = 0; r < out.length; r++) {
    let best = 0;
    for (let c = 1; c < numLabels; c++) if (logits[r * numLabels + c]! > logits[r * numLabels + best]!) best = c;
    out[r] = best;
  }
  return out;
}

const METRICS: Record<GlueMetricName, (predictions: Values, labels: Values) => number> = {
  matthews_correlation: matthewsCorrcoef,
  pearson: pearsonCorrelation,
  spearmanr: spearmanCorrelation,
  accuracy,
  f1: (p, l) => f1Score(p, l, 1),
};

/**
 * The task's GLUE metrics, keyed as the `glue` metric names them. `predictions` are class ids, or
 * scores for STS-B.
 */
export function glueMetrics(
  task: GlueTaskName | GlueTask,
  predictions: Values,
  labels: Values,
): Partial<Record<GlueMetricName, number>> {
  const t = typeof task === 'string' ? GLUE_TASKS[task] : task;
  if (!t) throw new RangeError(`glueMetrics: unknown GLUE task '${String(task)}'`);
  const result: Partial<Record<GlueMetricName, number>> = {};
  for (const name of t.metrics) result[name] = METRICS[name](predictions, labels);
  return result;
}
