/**
 * A from-the-definition decoder forward pass on plain JavaScript numbers (float64), written from
 * Hugging Face's modeling_llama / modeling_mistral / modeling_qwen2 semantics, independent of the
 * tensor ops under test: pre-norm decoder layers, RoPE with rotate_half (plain, linear or llama3
 * frequencies from modeling_rope_utils' formulas), repeat_kv for grouped-query attention, causal
 * softmax attention restricted by key padding and a sliding window, optional projection biases,
 * SwiGLU MLP, final norm and lm_head.
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
  /** Default hidden / heads. */
  headDim?: number;
  rope?: ReferenceRope;
  /** Query p sees keys j with p - window < j <= p. */
  window?: number | null;
  /** Which projections add a bias (read as `<proj>.bias`). */
  biases?: { qkv: boolean; output: boolean; mlp: boolean };
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

export type ReferenceRope =
  | { type: 'linear'; factor: number }
  | { type: 'llama3'; factor: number; low: number; high: number; context: number };

export type Weights = (name: string) => Float64Array;

/** inv_freq as modeling_rope_utils defines each type. */
export function referenceInvFreq(d: number, theta: number, rope?: ReferenceRope): number[] {
  const base = Array.from({ length: d / 2 }, (_, i) => 1 / theta ** ((2 * i) / d));
  if (!rope) return base;
  if (rope.type === 'linear') return base.map((f) => f / rope.factor);
  const lowWavelen = rope.context / rope.low;
  const highWavelen = rope.context / rope.high;
  return base.map((f) => {
    const wavelen = (2 * Math.PI) / f;
    const scaled = wavelen > lowWavelen ? f / rope.factor : f;
    const medium = !(wavelen < highWavelen) && !(wavelen > lowWavelen);
    if (!medium) return scaled;
    const smooth = (rope.context / wavelen - rope.low) / (rope.high - rope.low);
    return ((1 - smooth) * scaled) / rope.factor + smooth * scaled;
  });
}

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

function addBias(y: Vec, w: Weights, name: string, on: boolean | undefined): Vec {
  if (!on) return y;
  const b = w(name);
  return y.map((v, i) => v + b[i]!);
}

/** q * cos + rotate_half(q) * sin, with rotate_half(x) = cat(-x[h:], x[:h]). */
function rotate(x: Vec, pos: number, invFreq: number[]): Vec {
  const d = x.length;
  const h = d / 2;
  const out = new Array<number>(d);
  for (let i = 0; i < h; i++) {
    const angle = pos * invFreq[i]!;
    const c = Math.cos(angle);
    const s = Math.sin(angle);
    out[i] = x[i]! * c - x[i + h]! * s;
    out[i + h] = x[i + h]! * c + x[i]! * s;
  }
  return out;
}

const silu = (v: number) => v / (1 + Math.exp(-v));

function decoderLayer(cfg: ReferenceConfig, w: Weights, prefix: string, xs: Vec[], keyMask: number[]): Vec[] {
  const { hidden: H, heads, kvHeads, intermediate: I } = cfg;
  const d = cfg.headDim ?? H / heads;
  const group = heads / kvHeads;
  const invFreq = referenceInvFreq(d, cfg.theta, cfg.rope);
  const window = cfg.window ?? Number.POSITIVE_INFINITY;
  const attn = `${prefix}.self_attn`;
  const project = (x: Vec, name: string, rows: number) =>
    addBias(matvec(w(`${attn}.${name}.weight`), rows, H, x), w, `${attn}.${name}.bias`, cfg.biases?.qkv);
  const normed = xs.map((x) => rmsNorm(x, w(`${prefix}.input_layernorm.weight`), cfg.eps));
  const q = normed.map((x) => project(x, 'q_proj', heads * d));
  const k = normed.map((x) => project(x, 'k_proj', kvHeads * d));
  const v = normed.map((x) => project(x, 'v_proj', kvHeads * d));
  const head = (vec: Vec, index: number) => vec.slice(index * d, (index + 1) * d);
  const attnOut = xs.map((_, pos) => {
    const visible = [...Array(pos + 1).keys()].filter((j) => keyMask[j] === 1 && pos - j < window);
    const out: number[] = [];
    for (let hq = 0; hq < heads; hq++) {
      const kvIndex = Math.floor(hq / group);
      const qh = rotate(head(q[pos]!, hq), pos, invFreq);
      const scores = visible.map((j) => {
        const kh = rotate(head(k[j]!, kvIndex), j, invFreq);
        return qh.reduce((s, qv, i) => s + qv * kh[i]!, 0) / Math.sqrt(d);
      });
      const max = Math.max(...scores);
      const exps = scores.map((s) => Math.exp(s - max));
      const total = exps.reduce((a, b) => a + b, 0);
      const mixed = new Array<number>(d).fill(0);
      exps.forEach((e, n) => {
        const vh = head(v[visible[n]!]!, kvIndex);
        for (let i = 0; i < d; i++) mixed[i]! += (e / total) * vh[i]!;
      });
      out.push(...mixed);
    }
    const o = matvec(w(`${attn}.o_proj.weight`), H, heads * d, out);
    return addBias(o, w, `${attn}.o_proj.bias`, cfg.biases?.output);
  });
  const h = xs.map((x, pos) => x.map((val, i) => val + attnOut[pos]![i]!));
  return h.map((x) => {
    const n = rmsNorm(x, w(`${prefix}.post_attention_layernorm.weight`), cfg.eps);
    const mlp = (name: string, rows: number, cols: number, x: Vec) =>
      addBias(
        matvec(w(`${prefix}.mlp.${name}.weight`), rows, cols, x),
        w,
        `${prefix}.mlp.${name}.bias`,
        cfg.biases?.mlp,
      );
    const gate = mlp('gate_proj', I, H, n);
    const up = mlp('up_proj', I, H, n);
    const act = gate.map((g, i) => silu(g) * up[i]!);
    const down = mlp('down_proj', H, I, act);
    return x.map((val, i) => val + down[i]!);
  });
}

/**
 * Logits [batch][seq][vocab] for int token ids [batch][seq]; `attentionMask` [batch][seq] (1 attend,
 * 0 padding) hides keys. A query that sees no key at all gets an attention output of 0: compare
 * only positions that are not padding.
 */
export function referenceLogits(
  cfg: ReferenceConfig,
  w: Weights,
  ids: number[][],
  lmHead = 'lm_head.weight',
  attentionMask?: number[][],
): number[][][] {
  const table = w('model.embed_tokens.weight');
  return ids.map((row, b) => {
    const keyMask = attentionMask?.[b] ?? row.map(() => 1);
    let xs: Vec[] = row.map((id) => Array.from(table.subarray(id * cfg.hidden, (id + 1) * cfg.hidden)));
    for (let l = 0; l < cfg.layers; l++) xs = decoderLayer(cfg, w, `model.layers.${l}`, xs, keyMask);
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

/**
 * The reference logits and shifted loss of REFERENCE_MODEL's weights `w` on REFERENCE_IDS and
 * REFERENCE_LABELS, with a tied (embedding) or separate lm_head.
 */
export function referenceOutputs(w: Weights, tied: boolean): { logits: number[][][]; loss: number } {
  const head = tied ? 'model.embed_tokens.weight' : 'lm_head.weight';
  const logits = referenceLogits(REFERENCE_DIMS, w, REFERENCE_IDS, head);
  return { logits, loss: referenceLoss(logits, REFERENCE_LABELS) };
}
