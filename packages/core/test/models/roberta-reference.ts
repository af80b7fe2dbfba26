/**
 * RoBERTa / BERT sequence classification on plain JavaScript numbers (float64), written from the
 * formulas of transformers' modeling_roberta / modeling_bert and independent of the tensor ops under
 * test: embeddings (word + token type + position; RoBERTa's positions count non-pad tokens from
 * padding_idx + 1) and LayerNorm, post-LN layers with exact-erf GELU, attention over the non-padding
 * keys only, the classification head, cross-entropy or MSE.
 */
import { erfExact } from '../helpers/erf-reference.js';

export interface RefConfig {
  type: 'roberta' | 'bert';
  hidden: number;
  heads: number;
  layers: number;
  intermediate: number;
  labels: number;
  pad: number;
  eps: number;
  regression: boolean;
}

export type RefWeights = Map<string, Float64Array>;

const gelu = (x: number) => 0.5 * x * (1 + erfExact(x / Math.SQRT2));

function layerNorm(x: number[], w: Float64Array, b: Float64Array, eps: number): number[] {
  const mu = x.reduce((a, v) => a + v, 0) / x.length;
  const variance = x.reduce((a, v) => a + (v - mu) ** 2, 0) / x.length;
  const inv = 1 / Math.sqrt(variance + eps);
  return x.map((v, i) => (v - mu) * inv * w[i]! + b[i]!);
}

function linear(x: number[], w: Float64Array, b: Float64Array, out: number): number[] {
  const n = x.length;
  const y: number[] = [];
  for (let o = 0; o < out; o++) {
    let acc = b[o]!;
    for (let i = 0; i < n; i++) acc += w[o * n + i]! * x[i]!;
    y.push(acc);
  }
  return y;
}

/** Logits [batch][labels] for ids [batch][seq], mask [batch][seq] (1 attend, 0 pad), token types. */
export function referenceLogits(
  c: RefConfig,
  W: RefWeights,
  ids: number[][],
  mask: number[][],
  types: number[][],
): number[][] {
  const w = (name: string) => {
    const v = W.get(`${c.type}.${name}`) ?? W.get(name);
    if (!v) throw new Error(`reference: no weight ${name}`);
    return v;
  };
  const H = c.hidden;
  const d = H / c.heads;
  const row = (table: Float64Array, i: number) => Array.from(table.subarray(i * H, (i + 1) * H));
  return ids.map((seqIds, b) => {
    const S = seqIds.length;
    let count = 0;
    let x = seqIds.map((id, s) => {
      let pos: number;
      if (c.type === 'roberta') {
        if (id !== c.pad) count++;
        pos = id !== c.pad ? c.pad + count : c.pad;
      } else pos = s;
      const e = row(w('embeddings.word_embeddings.weight'), id);
      const p = row(w('embeddings.position_embeddings.weight'), pos);
      const t = row(w('embeddings.token_type_embeddings.weight'), types[b]![s]!);
      const sum = e.map((v, i) => v + p[i]! + t[i]!);
      return layerNorm(sum, w('embeddings.LayerNorm.weight'), w('embeddings.LayerNorm.bias'), c.eps);
    });
    for (let l = 0; l < c.layers; l++) {
      const P = `encoder.layer.${l}.`;
      const lin = (v: number[], name: string, out: number) =>
        linear(v, w(`${P}${name}.weight`), w(`${P}${name}.bias`), out);
      const q = x.map((v) => lin(v, 'attention.self.query', H));
      const k = x.map((v) => lin(v, 'attention.self.key', H));
      const vv = x.map((v) => lin(v, 'attention.self.value', H));
      const context = x.map((_, i) => {
        const out = new Array<number>(H).fill(0);
        for (let h = 0; h < c.heads; h++) {
          const keys = [...Array(S).keys()].filter((j) => mask[b]![j] !== 0);
          const scores = keys.map((j) => {
            let dot = 0;
            for (let e = 0; e < d; e++) dot += q[i]![h * d + e]! * k[j]![h * d + e]!;
            return dot / Math.sqrt(d);
          });
          const m = Math.max(...scores);
          const ex = scores.map((s) => Math.exp(s - m));
          const z = ex.reduce((a, v) => a + v, 0);
          keys.forEach((j, n) => {
            for (let e = 0; e < d; e++) out[h * d + e]! += (ex[n]! / z) * vv[j]![h * d + e]!;
          });
        }
        return out;
      });
      const attended = context.map((ctx, i) => {
        const o = lin(ctx, 'attention.output.dense', H).map((v, n) => v + x[i]![n]!);
        return layerNorm(
          o,
          w(`${P}attention.output.LayerNorm.weight`),
          w(`${P}attention.output.LayerNorm.bias`),
          c.eps,
        );
      });
      x = attended.map((a) => {
        const inter = lin(a, 'intermediate.dense', c.intermediate).map(gelu);
        const o = lin(inter, 'output.dense', H).map((v, n) => v + a[n]!);
        return layerNorm(o, w(`${P}output.LayerNorm.weight`), w(`${P}output.LayerNorm.bias`), c.eps);
      });
    }
    const first = x[0]!;
    if (c.type === 'roberta') {
      const hDense = linear(first, w('classifier.dense.weight'), w('classifier.dense.bias'), H).map(Math.tanh);
      return linear(hDense, w('classifier.out_proj.weight'), w('classifier.out_proj.bias'), c.labels);
    }
    const pooled = linear(first, w('pooler.dense.weight'), w('pooler.dense.bias'), H).map(Math.tanh);
    return linear(pooled, w('classifier.weight'), w('classifier.bias'), c.labels);
  });
}

/** Mean cross-entropy of the logits against class ids, or mean squared error for regression. */
export function referenceLoss(c: RefConfig, logits: number[][], labels: number[]): number {
  let total = 0;
  logits.forEach((row, b) => {
    if (c.regression) total += (row[0]! - labels[b]!) ** 2;
    else {
      const m = Math.max(...row);
      const lse = m + Math.log(row.reduce((a, v) => a + Math.exp(v - m), 0));
      total += lse - row[labels[b]!]!;
    }
  });
  return total / logits.length;
}
