/**
 * GaLore Adafactor (galore_torch/adafactor.py, on Hugging Face's Adafactor; Shazeer and Stern
 * 2018). For a projected weight, Adafactor runs on R = project(G): its factored second moment
 * holds one statistic per row and one per column of R, so the state is r + n (or m + r) numbers
 * plus the optional first moment of R's shape. Per step t of the parameter:
 *
 *   lr_t   = relativeStep ? min(warmupInit ? 1e-6 t : 1e-2, 1 / sqrt(t)) : lr
 *            (times max(eps2, RMS(W)) when scaleParameter)
 *   b2_t   = 1 - t^decayRate
 *   row    = b2_t row + (1 - b2_t) mean_cols(R^2 + eps1),  col likewise over rows
 *   U      = R * rsqrt(row / mean(row)) rsqrt(col)        (rsqrt(v) R when R is 1-D)
 *   U     /= max(RMS(U) / clipThreshold, 1)                (update clipping)
 *   U     *= lr_t;  with beta1: m = b1 m + (1 - b1) U, U = m
 *   W     -= lr_t * weightDecay * W;  W -= projectBack(U)  (alpha-scaled)
 */
import {
  add,
  cast,
  div,
  maximum,
  mean,
  mul,
  type ParamGroup,
  type ParamState,
  rsqrt,
  sqrt,
  square,
  sub,
  type Tensor,
  tidy,
  writeInto,
  zeros,
} from '@galore-ts/core';
import type { GaLoreProjector } from '../projection/projector.js';
import { type BasisChange, changeFactor, changeFirstMoment } from '../projection/subspace-change.js';
import { GaLoreOptimizer, type StepCounts } from './galore-optimizer.js';
import {
  checkNumber,
  describeValue,
  GALORE_GROUP_DEFAULTS,
  type GaLoreGroupOptions,
  inUnitInterval,
  isNonNegative,
  isPositive,
} from './options.js';

export interface GaLoreAdafactorOptions extends GaLoreGroupOptions {
  /** External learning rate; must be unset with relativeStep. */
  lr?: number;
  /** [eps1 added to R^2, eps2 the floor of RMS(W)]. */
  eps: readonly [number, number];
  clipThreshold: number;
  /** The second-moment decay exponent (b2_t = 1 - t^decayRate). */
  decayRate: number;
  /** First-moment decay; null keeps no first moment (Adafactor's default). */
  beta1: number | null;
  weightDecay: number;
  scaleParameter: boolean;
  relativeStep: boolean;
  warmupInit: boolean;
}

/** Hugging Face Adafactor's defaults (relative step sizes, no external lr). */
export const GALORE_ADAFACTOR_DEFAULTS: Readonly<GaLoreAdafactorOptions> = Object.freeze({
  ...GALORE_GROUP_DEFAULTS,
  lr: undefined,
  eps: [1e-30, 1e-3] as const,
  clipThreshold: 1,
  decayRate: -0.8,
  beta1: null,
  weightDecay: 0,
  scaleParameter: true,
  relativeStep: true,
  warmupInit: false,
});

export class GaLoreAdafactor extends GaLoreOptimizer<GaLoreAdafactorOptions> {
  static readonly defaults = GALORE_ADAFACTOR_DEFAULTS;

  protected override validateOptions(o: GaLoreAdafactorOptions, where: string): void {
    for (const flag of ['scaleParameter', 'relativeStep', 'warmupInit'] as const) {
      if (typeof o[flag] !== 'boolean')
        throw new TypeError(`${where}: ${flag} must be true or false, got ${describeValue(o[flag])}`);
    }
    if (o.relativeStep && o.lr !== undefined) {
      throw new RangeError(
        `${where}: a manual lr (${o.lr}) cannot be combined with relativeStep: true; set relativeStep: false`,
      );
    }
    if (!o.relativeStep) checkNumber(where, 'lr', o.lr, isNonNegative, 'a finite number >= 0 (relativeStep is false)');
    if (o.warmupInit && !o.relativeStep) throw new RangeError(`${where}: warmupInit: true needs relativeStep: true`);
    if (!Array.isArray(o.eps) || o.eps.length !== 2)
      throw new RangeError(`${where}: eps must be a pair [eps1, eps2], got ${describeValue(o.eps)}`);
    checkNumber(where, 'eps[0]', o.eps[0], isNonNegative, 'a finite number >= 0');
    checkNumber(where, 'eps[1]', o.eps[1], isNonNegative, 'a finite number >= 0');
    checkNumber(where, 'clipThreshold', o.clipThreshold, isPositive, 'a finite number > 0');
    checkNumber(where, 'decayRate', o.decayRate, (v) => v < 0 && Number.isFinite(v), 'a finite number < 0');
    if (o.beta1 !== null) checkNumber(where, 'beta1', o.beta1, inUnitInterval, 'null or in [0, 1)');
    checkNumber(where, 'weightDecay', o.weightDecay, isNonNegative, 'a finite number >= 0');
    this.checkGaLore(where, o);
  }

  protected override updateFull(
    param: Tensor,
    grad: Tensor,
    group: ParamGroup<GaLoreAdafactorOptions>,
    state: ParamState,
    t: StepCounts,
  ): void {
    tidy(() => {
      const { update, lr } = this.scaledUpdate(param, grad, group.options, state, t);
      writeInto(param, sub(this.decayed(param, lr, group.options), update), this.constructor.name);
    });
  }

  protected override updateLowRank(
    param: Tensor,
    low: Tensor,
    projector: GaLoreProjector,
    group: ParamGroup<GaLoreAdafactorOptions>,
    state: ParamState,
    t: StepCounts,
  ): void {
    tidy(() => {
      const { update, lr } = this.scaledUpdate(param, low, group.options, state, t);
      if (group.options.weightDecay !== 0)
        writeInto(param, this.decayed(param, lr, group.options), this.constructor.name);
      projector.projectBackInto(param, update, -1);
    });
  }

  protected override resetMoments(state: ParamState): void {
    this.dropState(state, ['exp_avg', 'exp_avg_sq', 'exp_avg_sq_row', 'exp_avg_sq_col']);
  }

  protected override changeMoments(state: ParamState, change: BasisChange): void {
    tidy(() => {
      const s = state.tensors;
      if (s.exp_avg) writeInto(s.exp_avg, changeFirstMoment(s.exp_avg, change), this.constructor.name);
      // The statistic indexed by subspace coordinates follows the change; the other axis stays.
      if (change.left && s.exp_avg_sq_row)
        writeInto(s.exp_avg_sq_row, changeFactor(s.exp_avg_sq_row, square(change.left), 'left'), this.constructor.name);
      if (change.right && s.exp_avg_sq_col)
        writeInto(
          s.exp_avg_sq_col,
          changeFactor(s.exp_avg_sq_col, square(change.right), 'right'),
          this.constructor.name,
        );
    });
  }

  /** p * (1 - weightDecay * lr_t), in float32 (p itself when there is no decay). */
  private decayed(param: Tensor, lr: Tensor | number, o: GaLoreAdafactorOptions): Tensor {
    const p = cast(param, computeDType(param));
    if (o.weightDecay === 0) return p;
    const rate = typeof lr === 'number' ? lr * o.weightDecay : mul(lr, o.weightDecay);
    return sub(p, mul(p, rate));
  }

  /** lr_t * U (or the first moment of it), and lr_t; moments updated in place. */
  private scaledUpdate(
    param: Tensor,
    grad: Tensor,
    o: GaLoreAdafactorOptions,
    state: ParamState,
    t: StepCounts,
  ): { update: Tensor; lr: Tensor | number } {
    const dtype = computeDType(grad);
    const g = cast(grad, dtype);
    const backend = g.backend;
    const lr = this.stepSize(param, o, t.momentStep);
    const beta2t = 1 - t.momentStep ** o.decayRate;
    const sq = add(square(g), o.eps[0]);
    const where = this.constructor.name;
    let u: Tensor;
    if (g.rank >= 2) {
      const [rows, cols] = [g.shape[0]!, g.shape[1]!];
      const row = this.stateTensor(state, 'exp_avg_sq_row', () => zeros([rows], { dtype, backend }));
      const col = this.stateTensor(state, 'exp_avg_sq_col', () => zeros([cols], { dtype, backend }));
      writeInto(row, add(mul(row, beta2t), mul(mean(sq, -1), 1 - beta2t)), where);
      writeInto(col, add(mul(col, beta2t), mul(mean(sq, -2), 1 - beta2t)), where);
      const rowFactor = rsqrt(div(row, mean(row))).reshape([rows, 1]);
      const colFactor = rsqrt(col).reshape([1, cols]);
      u = mul(mul(rowFactor, colFactor), g);
    } else {
      const v = this.stateTensor(state, 'exp_avg_sq', () => zeros(g.shape, { dtype, backend }));
      writeInto(v, add(mul(v, beta2t), mul(sq, 1 - beta2t)), where);
      u = mul(rsqrt(v), g);
    }
    u = div(u, maximum(div(rms(u), o.clipThreshold), 1));
    u = mul(u, lr);
    if (o.beta1 !== null) {
      const m = this.stateTensor(state, 'exp_avg', () => zeros(g.shape, { dtype, backend }));
      writeInto(m, add(mul(m, o.beta1), mul(u, 1 - o.beta1)), where);
      u = m;
    }
    return { update: u, lr };
  }

  /** lr_t: a number, or a 0-d tensor when it scales with RMS(W) (kept on the device). */
  private stepSize(param: Tensor, o: GaLoreAdafactorOptions, t: number): Tensor | number {
    let relative = o.lr ?? 0;
    if (o.relativeStep) relative = Math.min(o.warmupInit ? 1e-6 * t : 1e-2, 1 / Math.sqrt(t));
    if (!o.scaleParameter) return relative;
    return mul(maximum(rms(cast(param, computeDType(param))), o.eps[1]), relative);
  }
}

function rms(x: Tensor): Tensor {
  return sqrt(mean(square(x)));
}

function computeDType(t: Tensor): 'float32' | 'float64' {
  return t.dtype === 'float64' ? 'float64' : 'float32';
}
