/**
 * GaLore AdamW with 8-bit moments (galore_torch/adamw8bit.py on bitsandbytes' Optimizer2State):
 * both moments are stored block-wise quantised (block size 256 or 2048, one float32 absmax per
 * block) against bitsandbytes' dynamic maps (signed for m, unsigned for v); states with fewer
 * than `minQuantizedSize` (4096) elements stay float32, as bitsandbytes' min_8bit_size does.
 *
 * The inner step is bitsandbytes' Adam, i.e. PyTorch's AdamW formula
 *   p <- p (1 - lr wd) - lr / bc1 * m / (sqrt(v / bc2) + eps)
 * For a projected weight it runs on R with weight decay 0 and the step is projected back
 * (scaled by alpha); the decay lr * wd * W is then applied to the full weight, as the official
 * code does. Without any `rank` group this is plain 8-bit AdamW (see AdamW8bit).
 *
 * One deliberate difference: the official code lets bitsandbytes write the low-rank step into a
 * scratch of the parameter's dtype (bf16 for a bf16 model); here the scratch is float32, so the
 * step is rounded once, when it is added into the weight.
 */
import {
  type OptionsInput,
  type ParamGroup,
  type ParamGroupSpec,
  type ParamState,
  runKernel,
  type Tensor,
  tidy,
  zeros,
} from '@galore-ts/core';
import type { GaLoreProjector } from '../projection/projector.js';
import { type BasisChange, changeAdamMoments } from '../projection/subspace-change.js';
import { BLOCK_SIZES, type BlockSize, dequantize, quantize } from '../quantization/blockwise.js';
import { type QuantizedMoment, quantizedAdamStep } from '../quantization/quantized-adam.js';
import { type AdamHyperParameters, checkAdamOptions, torchAdamKernelParams } from './adam-math.js';
import { scaleInPlace } from './decay.js';
import { GaLoreOptimizer, type GaLoreOptimizerHooks, type StepCounts } from './galore-optimizer.js';
import {
  checkNumber,
  describeValue,
  GALORE_GROUP_DEFAULTS,
  type GaLoreGroupOptions,
  groupLabel,
  isNonNegativeInteger,
} from './options.js';

export interface GaLoreAdamW8bitOptions extends GaLoreGroupOptions, AdamHyperParameters {
  lr: number;
  /** Elements per quantisation block (bitsandbytes uses 256; older versions 2048). */
  blockSize: BlockSize;
  /** States with fewer elements stay float32 (bitsandbytes' min_8bit_size). */
  minQuantizedSize: number;
}

/** bitsandbytes' AdamW8bit defaults. */
export const GALORE_ADAMW8BIT_DEFAULTS: Readonly<GaLoreAdamW8bitOptions> = Object.freeze({
  ...GALORE_GROUP_DEFAULTS,
  lr: 1e-3,
  betas: [0.9, 0.999] as const,
  eps: 1e-8,
  weightDecay: 1e-2,
  blockSize: 256 as BlockSize,
  minQuantizedSize: 4096,
});

const FLOAT_KEYS = ['exp_avg', 'exp_avg_sq'] as const;
const QUANTIZED_KEYS = ['exp_avg_codes', 'exp_avg_absmax', 'exp_avg_sq_codes', 'exp_avg_sq_absmax'] as const;

export class GaLoreAdamW8bit extends GaLoreOptimizer<GaLoreAdamW8bitOptions> {
  constructor(
    params: readonly Tensor[] | readonly ParamGroupSpec<GaLoreAdamW8bitOptions>[],
    options: OptionsInput<GaLoreAdamW8bitOptions> = {},
    hooks: OptionsInput<GaLoreOptimizerHooks> = {},
  ) {
    super(params, options, GALORE_ADAMW8BIT_DEFAULTS, hooks);
  }

  protected override validateOptions(o: GaLoreAdamW8bitOptions, index: number): void {
    const where = groupLabel(this.constructor.name, index);
    checkAdamOptions(where, o);
    if (!(BLOCK_SIZES as readonly number[]).includes(o.blockSize)) {
      throw new RangeError(
        `${where}: blockSize must be one of ${BLOCK_SIZES.join(', ')}, got ${describeValue(o.blockSize)}`,
      );
    }
    checkNumber(where, 'minQuantizedSize', o.minQuantizedSize, isNonNegativeInteger, 'an integer >= 0');
    this.checkGaLore(where, o);
  }

  protected override updateFull(
    param: Tensor,
    grad: Tensor,
    group: ParamGroup<GaLoreAdamW8bitOptions>,
    state: ParamState,
    t: StepCounts,
  ): void {
    const o = group.options;
    this.adamStep(param, grad, state, o, torchAdamKernelParams(o, t.momentStep, o.lr, o.weightDecay));
  }

  protected override updateLowRank(
    param: Tensor,
    low: Tensor,
    projector: GaLoreProjector,
    group: ParamGroup<GaLoreAdamW8bitOptions>,
    state: ParamState,
    t: StepCounts,
  ): void {
    const o = group.options;
    const step = zeros(low.shape, { dtype: low.dtype, backend: low.backend });
    try {
      // step = -1 / bc1 * m / (sqrt(v / bc2) + eps): the inner step at lr 1, no decay, from zero.
      this.adamStep(step, low, state, o, torchAdamKernelParams(o, t.momentStep, 1, 0));
      const decay = 1 - o.lr * o.weightDecay;
      scaleInPlace(param, decay, this.constructor.name);
      projector.projectBackInto(param, step, o.lr * decay);
    } finally {
      step.dispose();
    }
  }

  protected override resetMoments(state: ParamState): void {
    this.dropState(state, [...FLOAT_KEYS, ...QUANTIZED_KEYS]);
  }

  protected override changeMoments(state: ParamState, change: BasisChange): void {
    const blockSize = this.blockSizeOf(state);
    const quantized = this.quantizedMoments(state);
    if (!quantized) {
      const m = state.tensors.exp_avg;
      const v = state.tensors.exp_avg_sq;
      if (!m || !v) return;
      const changed = changeAdamMoments(m, v, change);
      this.replaceState(state, 'exp_avg', changed.m);
      this.replaceState(state, 'exp_avg_sq', changed.v);
      return;
    }
    tidy(() => {
      const changed = changeAdamMoments(
        dequantize(quantized.m.codes, quantized.m.absmax, true, blockSize),
        dequantize(quantized.v.codes, quantized.v.absmax, false, blockSize),
        change,
      );
      const newM = quantize(changed.m, true, blockSize);
      const newV = quantize(changed.v, false, blockSize);
      this.replaceState(state, 'exp_avg_codes', newM.codes);
      this.replaceState(state, 'exp_avg_absmax', newM.absmax);
      this.replaceState(state, 'exp_avg_sq_codes', newV.codes);
      this.replaceState(state, 'exp_avg_sq_absmax', newV.absmax);
    });
  }

  /** Runs the kernel on `target` from `grad`, with float32 or 8-bit moments of grad's shape. */
  private adamStep(
    target: Tensor,
    grad: Tensor,
    state: ParamState,
    o: GaLoreAdamW8bitOptions,
    params: ReturnType<typeof torchAdamKernelParams>,
  ): void {
    const backend = grad.backend;
    const computeDType = grad.dtype === 'float64' ? 'float64' : 'float32';
    if (grad.size < o.minQuantizedSize || computeDType === 'float64') {
      const make = () => zeros(grad.shape, { dtype: computeDType, backend });
      const m = this.momentOf(state, 'exp_avg', make);
      const v = this.momentOf(state, 'exp_avg_sq', make);
      runKernel('adamw', { param: target, grad, m, v }, params);
      return;
    }
    const blocks = Math.ceil(grad.size / o.blockSize);
    const codes = () => zeros(grad.shape, { dtype: 'uint8', backend });
    const absmax = () => zeros([blocks], { dtype: 'float32', backend });
    // Zero codes must decode to 0: with absmax 0 every code does.
    const m: QuantizedMoment = {
      codes: this.momentOf(state, 'exp_avg_codes', codes),
      absmax: this.momentOf(state, 'exp_avg_absmax', absmax),
      signed: true,
    };
    const v: QuantizedMoment = {
      codes: this.momentOf(state, 'exp_avg_sq_codes', codes),
      absmax: this.momentOf(state, 'exp_avg_sq_absmax', absmax),
      signed: false,
    };
    quantizedAdamStep(target, grad, m, v, params, o.blockSize);
  }

  private quantizedMoments(state: ParamState): { m: QuantizedMoment; v: QuantizedMoment } | undefined {
    const t = state.tensors;
    if (!t.exp_avg_codes || !t.exp_avg_absmax || !t.exp_avg_sq_codes || !t.exp_avg_sq_absmax) return undefined;
    return {
      m: { codes: t.exp_avg_codes, absmax: t.exp_avg_absmax, signed: true },
      v: { codes: t.exp_avg_sq_codes, absmax: t.exp_avg_sq_absmax, signed: false },
    };
  }

  /** The block size the stored moments were quantised with (from their absmax length). */
  private blockSizeOf(state: ParamState): number {
    const codes = state.tensors.exp_avg_codes;
    const absmax = state.tensors.exp_avg_absmax;
    if (!codes || !absmax) return GALORE_ADAMW8BIT_DEFAULTS.blockSize;
    for (const size of BLOCK_SIZES) if (Math.ceil(codes.size / size) === absmax.size) return size;
    throw new Error(
      `${this.constructor.name}: stored absmax has ${absmax.size} blocks for ${codes.size} codes; no supported block size fits`,
    );
  }
}

/** 8-bit AdamW without projection (bitsandbytes' AdamW8bit): every group is updated in full. */
export class AdamW8bit extends GaLoreAdamW8bit {
  protected override validateOptions(o: GaLoreAdamW8bitOptions, index: number): void {
    if (o.rank !== undefined) {
      throw new RangeError(
        `${groupLabel('AdamW8bit', index)}: rank is a GaLore option; use GaLoreAdamW8bit for projected groups`,
      );
    }
    super.validateOptions(o, index);
  }
}
