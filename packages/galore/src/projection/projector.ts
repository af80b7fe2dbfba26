/**
 * The GaLore projector of one weight: its bases (P = U[:, :r] and/or Q = Vh[:r]), refreshed from
 * the gradient's top-r singular vectors at steps 0, T, 2T, ..., and the two maps
 *   project(G)      R = P^T G,  G Q^T  or  P^T G Q^T          (float32, whatever G's dtype)
 *   projectBack(N)  alpha * (P N,  N Q  or  P N Q)
 * The bases live in a `BasisStore` (the optimizer's per-parameter state), so state dicts carry
 * them as ordinary tensors. They are stored in the gradient's dtype, as the official code does
 * (bf16 bases for a bf16 model), and in float32 for float32 gradients.
 */
import {
  allFiniteNow,
  cast,
  computeDTypeOf,
  type DType,
  finiteFlag,
  formatShape,
  keep,
  matmulInto,
  type Tensor,
  tidy,
  where,
  zeros,
} from '@galore-ts/core';
import {
  effectiveRank,
  matrixShape,
  type ProjectionSides,
  type ProjectionType,
  projectedShape,
  projectionSides,
} from './sides.js';
import { exactSubspace, RANDOMIZED_SVD_DEFAULTS, randomizedSubspace, type SubspaceBases } from './subspace.js';

export type SvdMethod = 'exact' | 'randomized';

export interface ProjectorConfig {
  rank: number;
  /** T: bases refresh when step % T == 0 (step counted from 0 before the update). */
  updateProjGap: number;
  /** alpha, applied by projectBack. */
  scale: number;
  projType: ProjectionType;
  svd: SvdMethod;
  oversampling?: number;
  powerIterations?: number;
  /** Seed of the randomized sketches (each refresh derives its own from seed, param and step). */
  seed?: number;
}

/** Where a projector keeps its bases: the optimizer's state tensors. */
export interface BasisStore {
  get(side: 'left' | 'right'): Tensor | undefined;
  /** Stores (and takes ownership of) a basis, freeing the one it replaces. */
  set(side: 'left' | 'right', basis: Tensor): void;
}

export type RefreshOutcome =
  /** New bases are in the store; `previous` holds the old ones (the caller disposes them). */
  | { kind: 'refreshed'; previous: SubspaceBases }
  /** The SVD gave non-finite values; the previous bases stay. */
  | { kind: 'kept-previous'; reason: string }
  /** The SVD failed and there were no bases yet: this step cannot be projected. */
  | { kind: 'no-basis'; reason: string };

export class GaLoreProjector {
  readonly m: number;
  readonly n: number;
  readonly rank: number;
  readonly sides: ProjectionSides;

  constructor(
    readonly config: ProjectorConfig,
    shape: readonly number[],
    private readonly store: BasisStore,
  ) {
    [this.m, this.n] = matrixShape(shape, 'GaLoreProjector');
    this.rank = effectiveRank(config.rank, this.m, this.n);
    this.sides = projectionSides(config.projType, this.m, this.n);
  }

  get left(): Tensor | undefined {
    return this.store.get('left');
  }

  get right(): Tensor | undefined {
    return this.store.get('right');
  }

  /** Shape of R. */
  get projectedShape(): [number, number] {
    return projectedShape(this.config.projType, this.config.rank, [this.m, this.n]);
  }

  get hasBasis(): boolean {
    return (!this.sides.left || this.left !== undefined) && (!this.sides.right || this.right !== undefined);
  }

  /** Whether the step numbered `step` (0-based) refreshes the bases, as the official code decides. */
  isDue(step: number): boolean {
    return !this.hasBasis || step % this.config.updateProjGap === 0;
  }

  /**
   * Recomputes the bases from `grad` (m x n). `paramIndex` and `step` only seed the randomized
   * sketch, so a resumed run draws the same sketch as an uninterrupted one.
   */
  refresh(grad: Tensor, paramIndex: number, step: number): RefreshOutcome {
    this.checkGradient(grad);
    let fresh: SubspaceBases;
    try {
      fresh = this.computeBases(grad, paramIndex, step);
    } catch (error) {
      // A backend may refuse (non-finite input) or fail to converge: same outcome as NaN output.
      const reason = `the ${this.config.svd} SVD of a ${this.m} x ${this.n} gradient failed: ${(error as Error).message}`;
      return this.hasBasis ? { kind: 'kept-previous', reason } : { kind: 'no-basis', reason };
    }
    const candidates = [fresh.left, fresh.right].filter((t): t is Tensor => t !== undefined);
    const finite = allFiniteNow(candidates);
    if (finite === false) {
      for (const t of candidates) t.dispose();
      const reason = `the ${this.config.svd} SVD of a ${this.m} x ${this.n} gradient returned non-finite values`;
      return this.hasBasis ? { kind: 'kept-previous', reason } : { kind: 'no-basis', reason };
    }
    const dtype = basisDType(grad.dtype);
    const previous: SubspaceBases = {};
    for (const side of ['left', 'right'] as const) {
      const t = fresh[side];
      if (!t) continue;
      const old = this.store.get(side);
      // On asynchronous backends the finiteness check happens on the device: a bad basis is
      // replaced there by the old one (or zeros, which make this step's update zero).
      const stored = keep(
        tidy(() => {
          const typed = t.dtype === dtype ? t : cast(t, dtype);
          if (finite === true) return typed === t ? t.detach() : typed;
          return where(finiteFlag(t), typed, old ?? zeros(typed.shape, { dtype, backend: typed.backend }));
        }),
      );
      t.dispose();
      if (old) previous[side] = old.retain();
      this.store.set(side, stored);
    }
    return { kind: 'refreshed', previous };
  }

  /** R = project(grad) in float32 (float64 for float64 gradients). The caller owns R. */
  project(grad: Tensor): Tensor {
    this.checkGradient(grad);
    const [rows, cols] = this.projectedShape;
    const dtype = computeDTypeOf(grad);
    const out = zeros([rows, cols], { dtype, backend: grad.backend });
    const { left, right } = this.requireBases('project');
    if (left && right) {
      tidy(() => {
        const half = zeros([rows, this.n], { dtype, backend: grad.backend });
        matmulInto(half, left.T, grad);
        matmulInto(out, half, right.T);
      });
    } else if (left) {
      tidy(() => matmulInto(out, left.T, grad));
    } else {
      tidy(() => matmulInto(out, grad, right!.T));
    }
    return out;
  }

  /** alpha * back(lowRank), as a new m x n tensor in float32 (float64 for float64 input). */
  projectBack(lowRank: Tensor): Tensor {
    const dtype = computeDTypeOf(lowRank);
    const out = zeros([this.m, this.n], { dtype, backend: lowRank.backend });
    this.projectBackInto(out, lowRank, 1);
    return out;
  }

  /**
   * target += coefficient * alpha * back(lowRank), accumulated by the matmul kernel straight into
   * target's storage (rounded once to its dtype): no m x n temporary.
   */
  projectBackInto(target: Tensor, lowRank: Tensor, coefficient: number): void {
    const [rows, cols] = this.projectedShape;
    if (lowRank.rank !== 2 || lowRank.shape[0] !== rows || lowRank.shape[1] !== cols) {
      throw new RangeError(
        `GaLoreProjector.projectBack: expected a ${rows} x ${cols} matrix, got ${formatShape(lowRank.shape)}`,
      );
    }
    if (target.shape[0] !== this.m || target.shape[1] !== this.n) {
      throw new RangeError(
        `GaLoreProjector.projectBack: target must be ${this.m} x ${this.n}, got ${formatShape(target.shape)}`,
      );
    }
    const { left, right } = this.requireBases('projectBack');
    tidy(() => {
      const factor = coefficient * this.config.scale;
      const scaled = factor === 1 ? lowRank : lowRank.mul(factor);
      if (left && right) {
        const half = zeros([rows, this.n], { dtype: scaled.dtype, backend: scaled.backend });
        matmulInto(half, scaled, right);
        matmulInto(target, left, half, { accumulate: true });
      } else if (left) {
        matmulInto(target, left, scaled, { accumulate: true });
      } else {
        matmulInto(target, scaled, right!, { accumulate: true });
      }
    });
  }

  private requireBases(where: string): SubspaceBases {
    if (!this.hasBasis) throw new Error(`GaLoreProjector.${where}: no basis yet; refresh from a gradient first`);
    return { left: this.left, right: this.right };
  }

  private checkGradient(grad: Tensor): void {
    if (grad.rank !== 2 || grad.shape[0] !== this.m || grad.shape[1] !== this.n) {
      throw new RangeError(
        `GaLoreProjector: expected a ${this.m} x ${this.n} gradient, got ${formatShape(grad.shape)}`,
      );
    }
  }

  private computeBases(grad: Tensor, paramIndex: number, step: number): SubspaceBases {
    const { config, sides } = this;
    if (config.svd === 'exact') return exactSubspace(grad, this.rank, sides);
    return randomizedSubspace(grad, this.rank, sides, {
      oversampling: config.oversampling ?? RANDOMIZED_SVD_DEFAULTS.oversampling,
      powerIterations: config.powerIterations ?? RANDOMIZED_SVD_DEFAULTS.powerIterations,
      seed: sketchSeed(config.seed ?? 0, paramIndex, step),
    });
  }
}

/** Bases are kept in the gradient's dtype, as the official code does; float32 at least for 8-bit types. */
export function basisDType(gradDType: DType): DType {
  return gradDType === 'float64' || gradDType === 'bfloat16' || gradDType === 'float16' ? gradDType : 'float32';
}

/** A 64-bit seed mixing the optimizer's seed, the parameter and the step (splitmix-style constants). */
export function sketchSeed(seed: number, paramIndex: number, step: number): bigint {
  const mask = (1n << 64n) - 1n;
  let x = (BigInt(seed) * 0x9e3779b97f4a7c15n + BigInt(paramIndex) * 0xbf58476d1ce4e5b9n + BigInt(step)) & mask;
  x = ((x ^ (x >> 30n)) * 0xbf58476d1ce4e5b9n) & mask;
  x = ((x ^ (x >> 27n)) * 0x94d049bb133111ebn) & mask;
  return x ^ (x >> 31n);
}
