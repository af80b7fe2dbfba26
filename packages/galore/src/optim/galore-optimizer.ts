/**
 * What every GaLore optimizer shares, on top of core's Optimizer: groups with a `rank` are
 * projected, the others are updated in full. For a projected weight each update
 *   1. refreshes the projector when the weight's step (0-based) is a multiple of T,
 *      handling the moments as the group's `subspaceChange` policy says;
 *   2. projects the gradient to R (float32);
 *   3. lets the subclass run its inner optimizer on R and add the projected-back update.
 * Subclasses implement the inner update for both cases and how their moments follow a change of
 * subspace. Per-layer updates use the `...ProjectedGradient` methods to accumulate R across
 * micro-batches without keeping full gradients.
 *
 * State per parameter (tensors, all in state dicts): the subclass's moments, `projector_left`
 * (P, m x r) and/or `projector_right` (Q, r x n); values `step` (updates so far) and
 * `moment_step` (updates since the moments were last reset: what bias correction counts).
 */
import {
  formatShape,
  noGrad,
  normalizeOptions,
  Optimizer,
  type OptionsInput,
  type ParamGroup,
  type ParamState,
  type ParamsInput,
  type SkippedUpdate,
  type Tensor,
  withCategory,
  zeros,
} from '@galore-ts/core';
import { type BasisStore, GaLoreProjector } from '../projection/projector.js';
import type { SubspaceBases } from '../projection/subspace.js';
import { type BasisChange, basisChange } from '../projection/subspace-change.js';
import { type RankWarning, rankWarning } from '../rank.js';
import { scaleInPlace } from './decay.js';
import { checkGaLoreOptions, type GaLoreGroupOptions, groupLabel } from './options.js';

/** Reported when a refresh's SVD gives non-finite values. */
export interface SvdFailure {
  param: string;
  step: number;
  reason: string;
  /** 'previous': the old projector stays; 'skipped': there was none, so this update was skipped. */
  action: 'previous' | 'skipped';
}

export interface GaLoreOptimizerHooks {
  /** Called on every SVD failure; without it the first failure is reported with console.warn. */
  onSvdFailure?: (failure: SvdFailure) => void;
  /** Sets the optimizer's onSkippedUpdate (updates skipped for a non-finite gradient). */
  onSkippedUpdate?: (skip: SkippedUpdate) => void;
  /** Called for each group whose rank saves nothing on some weights; without it, console.warn. */
  onRankWarning?: (warning: RankWarning) => void;
}

const HOOK_NAMES = ['onSvdFailure', 'onSkippedUpdate', 'onRankWarning'];

/** Step numbers an update uses: 1-based, after counting this update. */
export interface StepCounts {
  /** Updates of this parameter so far, this one included. */
  step: number;
  /** Updates since the moments were last reset (equals step unless subspaceChange is 'reset'). */
  momentStep: number;
}

export abstract class GaLoreOptimizer<O extends GaLoreGroupOptions> extends Optimizer<O> {
  private readonly paramIndex = new Map<Tensor, number>();
  private readonly paramGroup = new Map<Tensor, ParamGroup<O>>();
  private warnedSvd = false;
  private readonly hooks: GaLoreOptimizerHooks;

  /**
   * Each subclass states its defaults (the official class's) in a static `defaults`, so it needs no
   * constructor of its own. rank has no default: only the groups that set it are projected.
   */
  constructor(
    params: ParamsInput<O>,
    options: OptionsInput<O> = {},
    givenHooks: OptionsInput<GaLoreOptimizerHooks> = {},
  ) {
    const { defaults } = new.target as unknown as { defaults: Readonly<O> };
    super(params, options, { defaults, optional: ['rank'] });
    const hooks: GaLoreOptimizerHooks = normalizeOptions(`${this.constructor.name}: hooks`, givenHooks, HOOK_NAMES);
    this.hooks = hooks;
    this.onSkippedUpdate = hooks.onSkippedUpdate;
    for (const [i, p] of this.allParams().entries()) this.paramIndex.set(p, i);
    this.paramGroups.forEach((group, g) => {
      for (const p of group.params) this.paramGroup.set(p, group);
      if (group.options.rank === undefined) return;
      group.params.forEach((p, i) => {
        if (p.rank !== 2) {
          throw new RangeError(
            `${this.constructor.name}: parameter group ${g} is projected (rank ${group.options.rank}), but its parameter '${group.names[i]}' has shape ${formatShape(p.shape)}; GaLore projects 2-D weights only`,
          );
        }
      });
      const warning = rankWarning(
        groupLabel(this.constructor.name, g),
        g,
        group.options.rank,
        group.params,
        group.names,
      );
      if (warning) (hooks.onRankWarning ?? ((w) => console.warn(w.message)))(warning);
    });
  }

  protected checkGaLore(where: string, o: O): void {
    checkGaLoreOptions(where, o);
  }

  /** The subclass's update of a parameter that is not projected. */
  protected abstract updateFull(
    param: Tensor,
    grad: Tensor,
    group: ParamGroup<O>,
    state: ParamState,
    t: StepCounts,
  ): void;

  /** The subclass's update from the projected gradient R; it adds its step with projector.projectBackInto. */
  protected abstract updateLowRank(
    param: Tensor,
    low: Tensor,
    projector: GaLoreProjector,
    group: ParamGroup<O>,
    state: ParamState,
    t: StepCounts,
  ): void;

  /** Frees the moments, so the next update starts them from zero. */
  protected abstract resetMoments(state: ParamState): void;

  /** Carries the moments into the new subspace. */
  protected abstract changeMoments(state: ParamState, change: BasisChange): void;

  override updateParam(param: Tensor, group: ParamGroup<O>): void {
    const grad = param.grad;
    if (!grad) return;
    this.recheckOptions(group);
    const state = this.stateOf(param);
    if (group.options.rank === undefined) {
      this.updateFull(param, grad, group, state, this.advance(state));
      return;
    }
    const projector = this.projectorOf(param, group, state);
    if (projector.isDue(state.values.step ?? 0) && !this.refresh(param, projector, group, state, grad)) return;
    const low = projector.project(grad);
    try {
      this.updateLowRank(param, low, projector, group, state, this.advance(state));
    } finally {
      low.dispose();
    }
  }

  // --- per-layer updates with gradient accumulation ---

  /** Whether `param` belongs to a group with a rank. */
  isProjected(param: Tensor): boolean {
    return this.groupFor(param).options.rank !== undefined;
  }

  /**
   * Whether the next update of `param` needs its full gradient: it is not projected, or its
   * projector refreshes at this step (the SVD reads the accumulated full gradient).
   */
  needsFullGradient(param: Tensor): boolean {
    const group = this.groupFor(param);
    if (group.options.rank === undefined) return true;
    const state = this.stateOf(param);
    return this.projectorOf(param, group, state).isDue(state.values.step ?? 0);
  }

  /** R = project(grad) with the current bases (no refresh); the caller owns R. */
  projectGradient(param: Tensor, grad: Tensor): Tensor {
    if (this.needsFullGradient(param)) {
      throw new Error(
        `${this.constructor.name}.projectGradient: '${param.name ?? 'parameter'}' needs its full gradient this step (unprojected or due for a refresh)`,
      );
    }
    const group = this.groupFor(param);
    return noGrad(() =>
      withCategory('gradient', () => this.projectorOf(param, group, this.stateOf(param)).project(grad)),
    );
  }

  /**
   * One update of a projected `param` from an already projected (e.g. accumulated) gradient R,
   * skipped (and returned) when R is not finite, as step() does.
   */
  stepProjectedGradient(param: Tensor, low: Tensor): SkippedUpdate | null {
    if (this.needsFullGradient(param)) {
      throw new Error(
        `${this.constructor.name}.stepProjectedGradient: '${param.name ?? 'parameter'}' needs its full gradient this step (unprojected or due for a refresh)`,
      );
    }
    const group = this.groupFor(param);
    const state = this.stateOf(param);
    return this.guardedUpdate(param, group, low, () => {
      const projector = this.projectorOf(param, group, state);
      this.updateLowRank(param, low, projector, group, state, this.advance(state));
    });
  }

  // --- helpers for subclasses ---

  /** The projector of `param` (its bases live in the state, so this object is cheap). */
  protected projectorOf(param: Tensor, group: ParamGroup<O>, state: ParamState): GaLoreProjector {
    const o = group.options;
    return new GaLoreProjector(
      {
        rank: o.rank!,
        updateProjGap: o.updateProjGap,
        scale: o.scale,
        projType: o.projType,
        svd: o.svd,
        oversampling: o.oversampling,
        powerIterations: o.powerIterations,
        seed: o.seed,
      },
      param.shape,
      this.basisStore(state),
    );
  }

  /** Frees the state tensors named `keys`. */
  protected dropState(state: ParamState, keys: readonly string[]): void {
    for (const key of keys) {
      state.tensors[key]?.dispose();
      delete state.tensors[key];
    }
  }

  /**
   * W <- W * (1 - lr * weightDecay) + lr * (1 - lr * weightDecay) * projectBack(step), where
   * `innerStep` writes the inner optimizer's step at lr 1 into a zero scratch of R's shape: the
   * official order (step, then decay on the full weight), with one pass over W for the decay.
   */
  protected addProjectedStep(
    param: Tensor,
    low: Tensor,
    projector: GaLoreProjector,
    o: { lr: number; weightDecay: number },
    innerStep: (step: Tensor) => void,
  ): void {
    const step = zeros(low.shape, { dtype: low.dtype, backend: low.backend });
    try {
      innerStep(step);
      const decay = 1 - o.lr * o.weightDecay;
      scaleInPlace(param, decay, this.constructor.name);
      projector.projectBackInto(param, step, o.lr * decay);
    } finally {
      step.dispose();
    }
  }

  private groupFor(param: Tensor): ParamGroup<O> {
    const group = this.paramGroup.get(param);
    if (!group)
      throw new Error(`${this.constructor.name}: the parameter ${param.name ?? ''} is not managed by this optimizer`);
    return group;
  }

  private advance(state: ParamState): StepCounts {
    const step = (state.values.step ?? 0) + 1;
    const momentStep = (state.values.moment_step ?? step - 1) + 1;
    state.values.step = step;
    state.values.moment_step = momentStep;
    return { step, momentStep };
  }

  private basisStore(state: ParamState): BasisStore {
    return {
      get: (side) => state.tensors[`projector_${side}`],
      set: (side, basis) => this.setState(state, `projector_${side}`, basis),
    };
  }

  /** Refreshes the bases; false when the update must be skipped (no usable basis). */
  private refresh(
    param: Tensor,
    projector: GaLoreProjector,
    group: ParamGroup<O>,
    state: ParamState,
    grad: Tensor,
  ): boolean {
    const step = state.values.step ?? 0;
    const outcome = projector.refresh(grad, this.paramIndex.get(param) ?? 0, step);
    const name = group.names[group.params.indexOf(param)] ?? param.name ?? 'parameter';
    if (outcome.kind === 'no-basis' || outcome.kind === 'kept-previous') {
      this.reportSvdFailure({
        param: name,
        step,
        reason: outcome.reason,
        action: outcome.kind === 'no-basis' ? 'skipped' : 'previous',
      });
      return outcome.kind === 'kept-previous';
    }
    this.afterRefresh(outcome.previous, projector, group, state);
    return true;
  }

  private afterRefresh(
    previous: SubspaceBases,
    projector: GaLoreProjector,
    group: ParamGroup<O>,
    state: ParamState,
  ): void {
    try {
      const hadBasis = previous.left !== undefined || previous.right !== undefined;
      if (!hadBasis) return;
      const policy = group.options.subspaceChange;
      if (policy === 'reset') {
        this.resetMoments(state);
        state.values.moment_step = 0;
      } else if (policy === 'project') {
        const change = basisChange(previous, { left: projector.left, right: projector.right });
        try {
          this.changeMoments(state, change);
        } finally {
          change.left?.dispose();
          change.right?.dispose();
        }
      }
    } finally {
      previous.left?.dispose();
      previous.right?.dispose();
    }
  }

  private reportSvdFailure(failure: SvdFailure): void {
    if (this.hooks.onSvdFailure) {
      this.hooks.onSvdFailure(failure);
      return;
    }
    if (this.warnedSvd) return;
    this.warnedSvd = true;
    const what =
      failure.action === 'previous' ? 'keeping the previous projector' : 'skipping this update (no projector yet)';
    console.warn(
      `${this.constructor.name}: ${failure.reason} for '${failure.param}' at step ${failure.step}; ${what}. Further SVD failures are not reported.`,
    );
  }
}
