/**
 * Closed-form memory of a training step, to set beside what the meta backend measures:
 * weights, gradients and optimizer state exactly (they are sums over parameter shapes), and an
 * estimate of the activations our LLaMA keeps for backward.
 */
import { DTYPE_BYTES, type DType } from '@galore-ts/core';
import { basisDType } from '../projection/projector.js';
import { basisShapes, type ProjectionType, projectedShape } from '../projection/sides.js';

export type OptimizerKind =
  | 'adamw'
  | 'adamw_8bit'
  | 'adafactor'
  | 'galore_adamw'
  | 'galore_adamw_8bit'
  | 'galore_adafactor';

export interface ParamInfo {
  shape: readonly number[];
  dtype: DType;
  /** Whether the optimizer projects it (only for galore_* kinds). */
  projected: boolean;
}

export interface StateFormulaOptions {
  rank: number;
  projType: ProjectionType;
  /** galore_adamw moments: float32 (4 bytes) or bfloat16 (2). */
  stateDType?: 'float32' | 'bfloat16';
  /** 8-bit: block size and the size below which states stay float32. */
  blockSize?: number;
  minQuantizedSize?: number;
  /** Adafactor's optional first moment. */
  beta1?: number | null;
}

const size = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** Bytes of the bases P and/or Q of a projected m x n weight. */
export function basisBytes(info: ParamInfo, rank: number, projType: ProjectionType): number {
  const shapes = basisShapes(projType, rank, info.shape);
  const bytes = DTYPE_BYTES[basisDType(info.dtype)];
  return (shapes.left ? size(shapes.left) : 0) * bytes + (shapes.right ? size(shapes.right) : 0) * bytes;
}

/** Bytes of one Adam moment pair of `elements` values held in 8 bits (or float32 when small). */
export function eightBitPairBytes(elements: number, blockSize: number, minQuantizedSize: number): number {
  if (elements < minQuantizedSize) return 2 * 4 * elements;
  return 2 * (elements + 4 * Math.ceil(elements / blockSize));
}

/** Persistent optimizer-state bytes for one parameter. */
export function optimizerStateBytes(kind: OptimizerKind, info: ParamInfo, o: StateFormulaOptions): number {
  const projected = info.projected && kind.startsWith('galore');
  const stateShape = projected ? projectedShape(o.projType, o.rank, info.shape) : info.shape;
  const elements = size(stateShape);
  const bases = projected ? basisBytes(info, o.rank, o.projType) : 0;
  const f64 = info.dtype === 'float64';
  switch (kind) {
    case 'adamw':
      return 2 * (f64 ? 8 : 4) * elements;
    case 'galore_adamw':
      return 2 * (f64 ? 8 : DTYPE_BYTES[o.stateDType ?? 'float32']) * elements + bases;
    case 'adamw_8bit':
    case 'galore_adamw_8bit':
      return (
        (f64 ? 16 * elements : eightBitPairBytes(elements, o.blockSize ?? 256, o.minQuantizedSize ?? 4096)) + bases
      );
    case 'adafactor':
    case 'galore_adafactor': {
      const width = f64 ? 8 : 4;
      const second = stateShape.length >= 2 ? stateShape[0]! + stateShape[1]! : elements;
      const first = o.beta1 === null || o.beta1 === undefined ? 0 : elements;
      return width * (second + first) + bases;
    }
  }
}

/** Sum of optimizerStateBytes over the parameters. */
export function totalOptimizerStateBytes(
  kind: OptimizerKind,
  params: readonly ParamInfo[],
  o: StateFormulaOptions,
): number {
  return params.reduce((sum, p) => sum + optimizerStateBytes(kind, p, o), 0);
}

export function weightBytes(params: readonly ParamInfo[]): number {
  return params.reduce((sum, p) => sum + size(p.shape) * DTYPE_BYTES[p.dtype], 0);
}

/**
 * Gradient bytes at the peak: every gradient at once without per-layer updates; with them, one
 * parameter's gradient at a time (the largest).
 */
export function gradientBytes(params: readonly ParamInfo[], layerwise: boolean): number {
  const each = params.map((p) => size(p.shape) * DTYPE_BYTES[p.dtype]);
  return layerwise ? Math.max(0, ...each) : each.reduce((a, b) => a + b, 0);
}

export interface ActivationShape {
  batch: number;
  seq: number;
  hidden: number;
  intermediate: number;
  heads: number;
  kvHeads: number;
  layers: number;
  vocab: number;
  /** Bytes per activation element (the model dtype). */
  bytes: number;
  gradientCheckpointing: boolean;
}

/**
 * What backward needs from the forward pass, per layer and token, in our LLaMA: the layer input
 * and the two norm outputs (3h), q, k, v after RoPE (h + 2 kv), the attention output before
 * o_proj (h), the residual before the second norm (h), gate, up and their SwiGLU product (3i),
 * and the softmax probabilities (heads x seq per token); plus the logits, in the model dtype and
 * as float32 log-probabilities for the loss. With checkpointing only each layer's input is kept,
 * and one layer's activations exist at a time during recomputation. An estimate: temporaries
 * that live only inside one op are not counted.
 */
export function activationBytesEstimate(a: ActivationShape): number {
  const tokens = a.batch * a.seq;
  const kv = (a.hidden / a.heads) * a.kvHeads;
  const perLayer = tokens * (6 * a.hidden + 2 * kv + 3 * a.intermediate) * a.bytes + tokens * a.heads * a.seq * a.bytes;
  const logits = tokens * a.vocab * (a.bytes + 4);
  if (a.gradientCheckpointing) return a.layers * tokens * a.hidden * a.bytes + perLayer + logits;
  return a.layers * perLayer + logits;
}
