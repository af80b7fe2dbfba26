/**
 * A from-the-definition LLaMA forward pass on plain JavaScript numbers (float64), written from
 * Hugging Face's modeling_llama semantics, independent of the tensor ops under test: pre-norm
 * decoder layers, RoPE with rotate_half, repeat_kv for grouped-query attention, causal softmax
 * attention, SwiGLU MLP, final norm and lm_head.
 */
export interface ReferenceConfig {
  hidden: number;
  intermediate: number;
  heads: number;
  kvHeads: number;
  layers: number;
  vocab: number;
  eps: number;
  theta: number;
}

/**
 * The small GQA model the reference checks run (core's test on the CPU, the GPU backends' tests):
 * its config in Hugging Face names, the same in the reference's names, and two rows of ids with
 * their labels (one ignored position, -100, each).
 */
export const REFERENCE_MODEL = Object.freeze({
  vocab_size: 11,
  hidden_size: 16,
  intermediate_size: 24,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  num_hidden_layers: 2,
  rms_norm_eps: 1e-5,
  rope_theta: 500,
});
export const REFERENCE_DIMS: ReferenceConfig = Object.freeze({
  hidden: 16,
  intermediate: 24,
  heads: 4,
  kvHeads: 2,
  layers: 2,
  vocab: 11,
  eps: 1e-5,
  theta: 500,
});
export const REFERENCE_IDS = [
  [1, 5, 9, 2, 7],
  [10, 0, 3, 3, 6],
];
export const REFERENCE_LABELS = [
  [1, 5, 9, -100, 7],
  [10, 0, -100, 3, 6],
];

export type Weights = (name: string) => Float64Array;

type Vec = number[];

function matvec(w: Float64Array, rows: number, cols: number, x: Vec): Vec {
  const y = new Array<number>(rows).fill(0);
  for (let r = 0; r < rows; r++) {
    let acc = 0;
    for (let c = 0; c < cols; c++) acc += w[r * cols + c]! * x[c]!;
    y[r] = acc;
  }
  return y;
}

function rmsNorm(x: Vec, w: Float64Array, eps: number): Vec {
  const meanSquare = x.reduce((s, v) => s + v * v, 0) / x.length;
  const scale = 1 / Math.sqrt(meanSquare + eps);
  return x.map((v, i) => v * scale * w[i]!);
}

/** q * cos + rotate_half(q) * sin, with rotate_half(x) = cat(-x[h:], x[:h]). */
function rotate(x: Vec, pos: number, theta: number): Vec {
  const d = x.length;
  const h = d / 2;
  const out = new Array<number>(d);
  for (let i = 0; i < h; i++) {
    const angle = pos / theta ** ((2 * i) / d);
    const c = Math.cos(angle);
    const s = Math.sin(angle);
    out[i] = x[i]! * c - x[i + h]! * s;
    out[i + h] = x[i + h]! * c + x[i]! * s;
  }
  return out;
}

const silu = (v: number) => v / (1 + Math.exp(-v));

function decoderLayer(cfg: ReferenceConfig, w: Weights, prefix: string, xs: Vec[]): Vec[] {
  const { hidden: H, heads, kvHeads, intermediate: I } = cfg;
  const d = H / heads;
  const group = heads / kvHeads;
  const normed = xs.map((x) => rmsNorm(x, w(`${prefix}.input_layernorm.weight`), cfg.eps));
  const q = normed.map((x) => matvec(w(`${prefix}.self_attn.q_proj.weight`), heads * d, H, x));
  const k = normed.map((x) => matvec(w(`${prefix}.self_attn.k_proj.weight`), kvHeads * d, H, x));
  const v = normed.map((x) => matvec(w(`${prefix}.self_attn.v_proj.weight`), kvHeads * d, H, x));
  const head = (vec: Vec, index: number) => vec.slice(index * d, (index + 1) * d);
  const attnOut = xs.map((_, pos) => {
    const out: number[] = [];
    for (let hq = 0; hq < heads; hq++) {
      const kvIndex = Math.floor(hq / group);
      const qh = rotate(head(q[pos]!, hq), pos, cfg.theta);
      const scores: number[] = [];
      for (let j = 0; j <= pos; j++) {
        const kh = rotate(head(k[j]!, kvIndex), j, cfg.theta);
        scores.push(qh.reduce((s, qv, i) => s + qv * kh[i]!, 0) / Math.sqrt(d));
      }
      const max = Math.max(...scores);
      const exps = scores.map((s) => Math.exp(s - max));
      const total = exps.reduce((a, b) => a + b, 0);
      const mixed = new Array<number>(d).fill(0);
      exps.forEach((e, j) => {
        const vh = head(v[j]!, kvIndex);
        for (let i = 0; i < d; i++) mixed[i]! += (e / total) * vh[i]!;
      });
      out.push(...mixed);
    }
    return matvec(w(`${prefix}.self_attn.o_proj.weight`), H, heads * d, out);
  });
  const h = xs.map((x, pos) => x.map((val, i) => val + attnOut[pos]![i]!));
  return h.map((x) => {
    const n = rmsNorm(x, w(`${prefix}.post_attention_layernorm.weight`), cfg.eps);
    const gate = matvec(w(`${prefix}.mlp.gate_proj.weight`), I, H, n);
    const up = matvec(w(`${prefix}.mlp.up_proj.weight`), I, H, n);
    const act = gate.map((g, i) => silu(g) * up[i]!);
    const down = matvec(w(`${prefix}.mlp.down_proj.weight`), H, I, act);
    return x.map((val, i) => val + down[i]!);
  });
}

/** Logits [batch][seq][vocab] for int token ids [batch][seq]. */
export function referenceLogits(
  cfg: ReferenceConfig,
  w: Weights,
  ids: number[][],
  lmHead = 'lm_head.weight',
): number[][][] {
  const table = w('model.embed_tokens.weight');
  return ids.map((row) => {
    let xs: Vec[] = row.map((id) => Array.from(table.subarray(id * cfg.hidden, (id + 1) * cfg.hidden)));
    for (let l = 0; l < cfg.layers; l++) xs = decoderLayer(cfg, w, `model.layers.${l}`, xs);
    return xs.map((x) => matvec(w(lmHead), cfg.vocab, cfg.hidden, rmsNorm(x, w('model.norm.weight'), cfg.eps)));
  });
}

/** HF's shifted loss: mean over positions s < seq-1 with labels[s+1] != -100 of -log softmax(logits[s])[labels[s+1]]. */
export function referenceLoss(logits: number[][][], labels: number[][]): number {
  let total = 0;
  let count = 0;
  logits.forEach((rows, b) => {
    for (let s = 0; s + 1 < rows.length; s++) {
      const target = labels[b]![s + 1]!;
      if (target === -100) continue;
      const row = rows[s]!;
      const max = Math.max(...row);
      const logSum = Math.log(row.reduce((acc, v) => acc + Math.exp(v - max), 0)) + max;
      total += logSum - row[target]!;
      count++;
    }
  });
  return total / count;
}
