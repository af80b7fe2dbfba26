/**
 * Optimizer base with PyTorch's shape: parameter groups with their own hyper-parameters, per-
 * parameter state, `step()`, `zeroGrad()`, and a state dict whose tensors can go to safetensors.
 */
import { keep, noGrad, tidy, withCategory } from '../engine.js';
import { where } from '../ops/elementwise.js';
import type { Tensor } from '../tensor.js';
import { allFiniteNow, finiteFlag } from './finite.js';
import { mergeDisjoint, normalizeOptions } from './option-names.js';
import { writeInto } from './update-helpers.js';
import { groupLabel } from './validate.js';

/** Hyper-parameters of a group; subclasses define the names (lr, betas, weightDecay, ...). */
export type GroupOptions = Record<string, unknown> & { lr?: number };

/**
 * Options as a caller writes them: the optimizer's names in camelCase or snake_case
 * (`weightDecay` or `weight_decay`, see option-names.ts); any other name is refused. (The first
 * member of the union lets a value typed with the options interface itself through.)
 */
export type OptionsInput<O extends object> = Partial<O> | (Partial<O> & Record<string, unknown>);

/**
 * A parameter group as torch.optim takes it: `params` and, beside them, overrides of the
 * optimizer's options (`{ params, lr: 0.1, weight_decay: 0 }`, or the official GaLore README's
 * `{ params, rank: 128, update_proj_gap: 200, scale: 0.25, proj_type: 'std' }`). Overrides may
 * also sit under `options`; one option in both places is refused.
 */
export type ParamGroupSpec<O extends GroupOptions> = OptionsInput<O> & {
  params: readonly Tensor[];
  /** Overrides of the optimizer's defaults for this group, nested (the same as top-level keys). */
  options?: OptionsInput<O>;
  /** Optional parameter names (Hugging Face names), aligned with params, for messages and state dicts. */
  names?: readonly string[];
};

/** An optimizer's state tensors: `get` makes one with `make` on first use, `set` replaces one (taking ownership). */
export interface StateTensors {
  get(state: ParamState, key: string, make: () => Tensor): Tensor;
  set(state: ParamState, key: string, value: Tensor): void;
}

/** An optimizer's parameters: one list (one group with the defaults), or parameter groups. */
export type ParamsInput<O extends GroupOptions> = readonly Tensor[] | readonly ParamGroupSpec<O>[];

/** What an optimizer accepts: its defaults (their keys are the known names) and known options without one. */
export interface OptionSchema<O extends GroupOptions> {
  defaults: Readonly<O>;
  /** Names accepted although they have no default (GaLore's rank marks a group as projected). */
  optional?: readonly string[];
}

export interface ParamGroup<O extends GroupOptions> {
  params: Tensor[];
  names: string[];
  options: O;
}

/** Per-parameter state: tensors (moments, projectors) and plain numbers (step counts). */
export interface ParamState {
  tensors: Record<string, Tensor>;
  values: Record<string, number>;
}

/**
 * A serialisable optimizer state: tensors keyed `state.<paramIndex>.<name>` (parameters numbered
 * across groups in order, as PyTorch does) and JSON for everything else.
 */
export interface OptimizerStateDict {
  tensors: Record<string, Tensor>;
  json: {
    type: string;
    groups: Record<string, unknown>[];
    values: Record<string, Record<string, number>>;
  };
}

/** An update skipped because the gradient it would use holds NaN or Inf; the weights and state are unchanged. */
export interface SkippedUpdate {
  /** The parameter's name. */
  param: string;
  reason: string;
}

/** What one step() did. */
export interface StepReport {
  /** Updates skipped for a non-finite gradient (see Optimizer.guardedUpdate for which backends report them). */
  skipped: SkippedUpdate[];
}

export abstract class Optimizer<O extends GroupOptions = GroupOptions> {
  readonly paramGroups: ParamGroup<O>[];
  protected readonly state = new Map<Tensor, ParamState>();
  /**
   * Called for each update skipped for a non-finite gradient. Unset, the first one is reported with
   * console.warn, and the rest only through step()'s report.
   */
  onSkippedUpdate: ((skip: SkippedUpdate) => void) | undefined = undefined;
  private warnedSkip = false;

  /** The optimizer-wide options: the schema's defaults with the caller's options applied. */
  readonly defaults: O;

  constructor(params: ParamsInput<O>, options: OptionsInput<O>, schema: OptionSchema<O>) {
    const name = this.constructor.name;
    const known = [...Object.keys(schema.defaults), ...(schema.optional ?? [])];
    this.defaults = { ...schema.defaults, ...normalizeOptions(`${name}: options`, options, known) } as O;
    const specs: readonly ParamGroupSpec<O>[] = isTensorList(params) ? [{ params } as ParamGroupSpec<O>] : params;
    if (specs.length === 0) throw new Error(`${name}: expected at least one parameter group`);
    const seen = new Set<Tensor>();
    this.paramGroups = specs.map((spec, g) => {
      const { params: groupParams, names, options: nested, ...topLevel } = spec;
      if (groupParams.length === 0) throw new Error(`${name}: parameter group ${g} is empty`);
      for (const p of groupParams) {
        if (seen.has(p))
          throw new Error(`${name}: a parameter appears in more than one group (${p.name ?? 'unnamed'})`);
        seen.add(p);
      }
      const where = groupLabel(name, g);
      const overrides = mergeDisjoint(
        where,
        normalizeOptions(where, topLevel, known),
        'at the top level of the group',
        normalizeOptions(where, nested ?? {}, known),
        'under `options`',
      );
      const groupOptions = { ...this.defaults, ...overrides } as O;
      this.validateOptions(groupOptions, where);
      return {
        params: [...groupParams],
        names: names ? [...names] : groupParams.map((p, i) => p.name ?? `group${g}.param${i}`),
        options: groupOptions,
      };
    });
  }

  /** Throws an error that starts with `where` (the group's label) for an invalid hyper-parameter. */
  protected validateOptions(_options: O, _where: string): void {}

  /** Checks `group`'s options again before an update: a scheduler or setOption may have changed them. */
  protected recheckOptions(group: ParamGroup<O>): void {
    this.validateOptions(group.options, groupLabel(this.constructor.name, this.paramGroups.indexOf(group)));
  }

  /** Updates one parameter from its gradient. Called by step() and by per-layer updates. */
  abstract updateParam(param: Tensor, group: ParamGroup<O>): void;

  /** Applies one update to every parameter that has a gradient, skipping those whose gradient is not finite. */
  step(): StepReport {
    const skipped: SkippedUpdate[] = [];
    for (const group of this.paramGroups) {
      for (const p of group.params) {
        const skip = p.grad ? this.stepParam(p, group) : null;
        if (skip) skipped.push(skip);
      }
    }
    return { skipped };
  }

  /** Updates one parameter from its gradient (see guardedUpdate); returns the skip, if it was skipped. */
  stepParam(param: Tensor, group: ParamGroup<O>): SkippedUpdate | null {
    const grad = param.grad;
    if (!grad) return null;
    return this.guardedUpdate(param, group, grad, () => this.updateParam(param, group));
  }

  /**
   * Runs `update` of `param` from `gradient` without recording autograd, counting new state as
   * optimizer memory, unless the gradient holds NaN or Inf: one such value would poison the moments
   * for many steps and the weights for good. On a backend that reads synchronously (the CPU) the
   * update is then skipped, reported and returned. On the others (WebGPU, CUDA) the host cannot know
   * without waiting for the device, so the update is undone there: a non-finite gradient is zeroed
   * in place (no kernel sees NaN), the update runs, and the weights and state tensors, copied
   * before, are restored. That costs a copy of the parameter and its state per update; the step
   * counters still advance, and the skip is not reported.
   */
  protected guardedUpdate(
    param: Tensor,
    group: ParamGroup<O>,
    gradient: Tensor,
    update: () => void,
  ): SkippedUpdate | null {
    const finite = allFiniteNow([gradient]);
    if (finite === false) return this.skip(param, group);
    noGrad(() =>
      withCategory('other', () => (finite === true ? update() : this.undoUnlessFinite(param, gradient, update))),
    );
    return null;
  }

  private undoUnlessFinite(param: Tensor, gradient: Tensor, update: () => void): void {
    const label = this.constructor.name;
    const state = this.stateOf(param);
    const finite = keep(finiteFlag(gradient));
    const saved = new Map(Object.entries(state.tensors).map(([key, t]) => [key, t.clone()]));
    const savedParam = param.clone();
    try {
      tidy(() => writeInto(gradient, where(finite, gradient, 0), label));
      update();
      tidy(() => {
        // State created by this update did not exist before: it goes back to zeros.
        const restore = (target: Tensor, before: Tensor | undefined) =>
          writeInto(target, where(finite, target, before ?? 0), label);
        restore(param, savedParam);
        for (const [key, t] of Object.entries(state.tensors)) restore(t, saved.get(key));
      });
    } finally {
      finite.dispose();
      savedParam.dispose();
      for (const t of saved.values()) t.dispose();
    }
  }

  private skip(param: Tensor, group: ParamGroup<O>): SkippedUpdate {
    const skip: SkippedUpdate = {
      param: group.names[group.params.indexOf(param)] ?? param.name ?? 'parameter',
      reason: 'its gradient holds NaN or Inf; the weights and optimizer state are left as they were',
    };
    if (this.onSkippedUpdate) {
      this.onSkippedUpdate(skip);
    } else if (!this.warnedSkip) {
      this.warnedSkip = true;
      console.warn(
        `${this.constructor.name}: skipped the update of '${skip.param}': ${skip.reason}. Further skips are reported only by step().`,
      );
    }
    return skip;
  }

  zeroGrad(): void {
    for (const group of this.paramGroups) for (const p of group.params) p.zeroGrad();
  }

  /** Sets a hyper-parameter (e.g. the scheduled learning rate) on every group. */
  setOption<K extends keyof O>(key: K, value: O[K]): void {
    for (const g of this.paramGroups) g.options[key] = value;
  }

  /** The group a parameter belongs to. */
  groupOf(param: Tensor): ParamGroup<O> {
    const group = this.paramGroups.find((g) => g.params.includes(param));
    if (!group)
      throw new Error(`${this.constructor.name}: the parameter ${param.name ?? ''} is not managed by this optimizer`);
    return group;
  }

  /** The state of `param`, created empty on first use. */
  protected stateOf(param: Tensor): ParamState {
    let s = this.state.get(param);
    if (!s) {
      s = { tensors: {}, values: {} };
      this.state.set(param, s);
    }
    return s;
  }

  /** Allocates a persistent state tensor (counted as optimizer memory, kept out of tidy scopes). */
  protected newState(make: () => Tensor): Tensor {
    return keep(withCategory('optimizer', make));
  }

  /** The state tensor `key`, made by `make` (as persistent optimizer memory) on first use. */
  protected stateTensor(state: ParamState, key: string, make: () => Tensor): Tensor {
    const existing = state.tensors[key];
    if (existing) return existing;
    const created = this.newState(make);
    state.tensors[key] = created;
    return created;
  }

  /** stateTensor and setState for helpers outside the class that keep moments (see StateTensors). */
  protected readonly stateTensors: StateTensors = {
    get: (state, key, make) => this.stateTensor(state, key, make),
    set: (state, key, value) => this.setState(state, key, value),
  };

  /** Replaces a persistent state tensor, freeing the old one. */
  protected setState(state: ParamState, key: string, value: Tensor): void {
    const old = state.tensors[key];
    if (old && old !== value) old.dispose();
    value.backend.retag(value.storage, 'optimizer');
    state.tensors[key] = keep(value);
  }

  /** Every parameter, numbered across groups as in a state dict. */
  protected allParams(): Tensor[] {
    return this.paramGroups.flatMap((g) => g.params);
  }

  stateDict(): OptimizerStateDict {
    const tensors: Record<string, Tensor> = {};
    const values: Record<string, Record<string, number>> = {};
    this.allParams().forEach((p, i) => {
      const s = this.state.get(p);
      if (!s) return;
      for (const [k, t] of Object.entries(s.tensors)) tensors[`state.${i}.${k}`] = t;
      values[String(i)] = { ...s.values };
    });
    return {
      tensors,
      json: {
        type: this.constructor.name,
        groups: this.paramGroups.map((g) => ({ ...g.options, names: g.names })),
        values,
      },
    };
  }

  /**
   * Restores state saved by stateDict(): copies of the given tensors are kept, so the caller may
   * dispose what it passed.
   */
  loadStateDict(dict: OptimizerStateDict): void {
    if (dict.json.type !== this.constructor.name) {
      throw new Error(`loadStateDict: the state is for ${dict.json.type}, this optimizer is ${this.constructor.name}`);
    }
    if (dict.json.groups.length !== this.paramGroups.length) {
      throw new Error(
        `loadStateDict: the state has ${dict.json.groups.length} parameter groups, this optimizer has ${this.paramGroups.length}`,
      );
    }
    this.paramGroups.forEach((g, i) => {
      const { names: _names, ...options } = dict.json.groups[i] as Record<string, unknown>;
      g.options = { ...g.options, ...options } as O;
    });
    const params = this.allParams();
    for (const s of this.state.values()) for (const t of Object.values(s.tensors)) t.dispose();
    this.state.clear();
    for (const [key, t] of Object.entries(dict.tensors)) {
      const match = /^state\.(\d+)\.(.+)$/.exec(key);
      const p = match ? params[Number(match[1])] : undefined;
      if (!match || !p)
        throw new Error(`loadStateDict: unexpected state tensor '${key}' (${params.length} parameters)`);
      const s = this.stateOf(p);
      s.tensors[match[2]!] = keep(withCategory('optimizer', () => t.clone()));
    }
    for (const [index, vals] of Object.entries(dict.json.values)) {
      const p = params[Number(index)];
      if (!p) throw new Error(`loadStateDict: state for parameter ${index}, but there are ${params.length}`);
      this.stateOf(p).values = { ...vals };
    }
  }

  /** Frees every state tensor. */
  dispose(): void {
    for (const s of this.state.values()) for (const t of Object.values(s.tensors)) t.dispose();
    this.state.clear();
  }
}

function isTensorList(x: readonly unknown[]): x is readonly Tensor[] {
  return x.length > 0 && typeof (x[0] as { shape?: unknown }).shape !== 'undefined' && !('params' in (x[0] as object));
}
