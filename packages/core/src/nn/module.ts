/**
 * Module: a node of a model tree that owns parameters and child modules, registered in declaration
 * order so that names and iteration order match PyTorch's (`model.layers.0.self_attn.q_proj.weight`).
 * A parameter registered under two names (tied weights) is one tensor; `parameters()` lists it once,
 * `stateDict()` lists every name, as PyTorch does.
 */
import { type DType, isFloating } from '../dtype.js';
import { keep, noGrad, withCategory } from '../engine.js';
import { cast } from '../ops/elementwise.js';
import { contiguousStrides } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { asParameter } from './parameter.js';
import {
  assertKeysMatch,
  assertNoMismatches,
  compareKeys,
  describeMismatch,
  type KeyComparison,
} from './state-dict.js';

export interface LoadStateDictOptions {
  /** Require the keys to match exactly (default true). Shape mismatches are errors either way. */
  strict?: boolean;
}

export interface NamedParametersOptions {
  /** Prepended to every name, with a dot. */
  prefix?: string;
  /** List a tensor registered under several names once, under its first name (default true). */
  removeDuplicate?: boolean;
}

const NAME_PATTERN = /^[A-Za-z0-9_]+$/;

export class Module {
  /** Training mode (the default) or evaluation mode; see train() and eval(). */
  training = true;
  private readonly childModules = new Map<string, Module>();
  private readonly ownParameters = new Map<string, Tensor>();

  // --- registration ---

  /** Adds a child module under `name` and returns it. */
  protected registerModule<M extends Module>(name: string, module: M): M {
    this.checkNewName(name, 'module');
    if (!(module instanceof Module)) {
      throw new TypeError(`registerModule('${name}'): expected a Module, got ${typeof module}`);
    }
    this.childModules.set(name, module);
    return module;
  }

  /**
   * Adds a parameter under `name` and returns it. A tensor that is not a parameter yet is made one
   * (requires grad, counted as 'parameter' memory, kept out of tidy scopes); an existing parameter
   * (a tied weight) is registered as it is.
   */
  protected registerParameter(name: string, param: Tensor): Tensor {
    this.checkNewName(name, 'parameter');
    if (param.storage.category !== 'parameter') asParameter(param);
    param.name ??= name;
    this.ownParameters.set(name, param);
    return param;
  }

  /** The parameter registered on this module under `name`. */
  protected getParameter(name: string): Tensor {
    const p = this.ownParameters.get(name);
    if (!p) {
      const known = [...this.ownParameters.keys()].join(', ') || 'none';
      throw new Error(`${this.constructor.name}: no parameter '${name}'; it has ${known}`);
    }
    return p;
  }

  protected hasParameter(name: string): boolean {
    return this.ownParameters.has(name);
  }

  /** Removes the parameter registered under `name` and returns it (the caller disposes it). */
  protected unregisterParameter(name: string): Tensor {
    const p = this.getParameter(name);
    this.ownParameters.delete(name);
    return p;
  }

  private checkNewName(name: string, kind: string): void {
    if (!NAME_PATTERN.test(name)) {
      throw new RangeError(
        `${this.constructor.name}: ${kind} name '${name}' must be letters, digits and underscores (no dots)`,
      );
    }
    if (this.childModules.has(name) || this.ownParameters.has(name)) {
      throw new Error(`${this.constructor.name}: the name '${name}' is already registered`);
    }
  }

  // --- traversal ---

  /** Direct children in registration order. */
  *namedChildren(): Generator<[string, Module]> {
    yield* this.childModules;
  }

  /** This module and every descendant, depth first, with dotted names ('' for this one). */
  *namedModules(prefix = ''): Generator<[string, Module]> {
    const stack: [string, Module][] = [[prefix, this]];
    while (stack.length > 0) {
      const [name, module] = stack.pop()!;
      yield [name, module];
      const children = [...module.childModules].reverse();
      for (const [childName, child] of children) stack.push([name ? `${name}.${childName}` : childName, child]);
    }
  }

  /** Parameters with dotted Hugging Face names, in registration order. */
  *namedParameters(options: NamedParametersOptions = {}): Generator<[string, Tensor]> {
    const seen = new Set<Tensor>();
    const removeDuplicate = options.removeDuplicate ?? true;
    for (const [moduleName, module] of this.namedModules(options.prefix ?? '')) {
      for (const [name, p] of module.ownParameters) {
        if (removeDuplicate) {
          if (seen.has(p)) continue;
          seen.add(p);
        }
        yield [moduleName ? `${moduleName}.${name}` : name, p];
      }
    }
  }

  /** Every parameter once, in registration order. */
  parameters(): Tensor[] {
    return [...this.namedParameters()].map(([, p]) => p);
  }

  /** Total number of parameter elements (tied weights counted once). */
  numParameters(): number {
    return this.parameters().reduce((n, p) => n + p.size, 0);
  }

  /** Sets every parameter's `name` to its dotted name (the first one, for tied weights). */
  nameParameters(): this {
    for (const [name, p] of this.namedParameters()) p.name = name;
    return this;
  }

  // --- state dict ---

  /**
   * Every parameter under every name (tied weights appear under each). The tensors are the
   * parameters themselves, not copies: read or save them, do not dispose them.
   */
  stateDict(): Record<string, Tensor> {
    return Object.fromEntries(this.namedParameters({ removeDuplicate: false }));
  }

  /** For each name of a tensor registered under several names, its other names. */
  parameterAliases(): Map<string, string[]> {
    const namesOf = new Map<Tensor, string[]>();
    for (const [name, p] of this.namedParameters({ removeDuplicate: false })) {
      namesOf.set(p, [...(namesOf.get(p) ?? []), name]);
    }
    const aliases = new Map<string, string[]>();
    for (const names of namesOf.values()) {
      if (names.length < 2) continue;
      for (const name of names)
        aliases.set(
          name,
          names.filter((n) => n !== name),
        );
    }
    return aliases;
  }

  /**
   * Copies values from `dict` into the parameters (in place: optimizers holding them stay valid).
   * Floating dtypes are converted; shapes must match. With `strict` (the default) missing and
   * unexpected keys are an error; a tied weight is satisfied by any of its names.
   */
  loadStateDict(dict: Readonly<Record<string, Tensor>>, options: LoadStateDictOptions = {}): KeyComparison {
    const own = this.stateDict();
    const keys = compareKeys(Object.keys(own), Object.keys(dict), this.parameterAliases());
    if (options.strict ?? true) assertKeysMatch('loadStateDict', keys);
    const pairs = Object.entries(dict).filter(([name]) => own[name] !== undefined);
    const mismatches: string[] = [];
    for (const [name, source] of pairs) {
      const target = own[name]!;
      const problem = describeMismatch(name, target, source);
      if (problem) mismatches.push(problem);
      else if (source.backend !== target.backend) {
        mismatches.push(
          `${name}: the tensor is on the ${source.backend.name} backend, the module on ${target.backend.name}`,
        );
      }
    }
    assertNoMismatches('loadStateDict', mismatches);
    noGrad(() => {
      for (const [name, source] of pairs) {
        const target = own[name]!;
        if (source.storage !== target.storage) copyValues(source, target);
      }
    });
    return keys;
  }

  // --- modes, dtype, lifetime ---

  /** Sets training mode on this module and every descendant. */
  train(mode = true): this {
    for (const [, m] of this.namedModules()) m.training = mode;
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /**
   * Converts every floating parameter to `dtype` (e.g. bfloat16 weight storage). Parameters are new
   * tensors afterwards (names and tying kept, gradients dropped): convert before making an optimizer.
   */
  toDType(dtype: DType): this {
    if (!isFloating(dtype)) throw new TypeError(`toDType: expected a floating dtype, got ${dtype}`);
    this.replaceParameters((p) => {
      if (p.dtype === dtype) return p;
      const converted = withCategory('parameter', () => noGrad(() => keep(cast(p, dtype))));
      asParameter(converted, p.requiresGrad);
      if (p.name !== undefined) converted.name = p.name;
      p.zeroGrad();
      p.dispose();
      return converted;
    });
    return this;
  }

  /**
   * @internal Replaces every parameter by `replace(p)` (called once per distinct tensor, so tied
   * weights stay tied) and returns a function that puts the originals back.
   */
  replaceParameters(replace: (p: Tensor) => Tensor): () => void {
    const done = new Map<Tensor, Tensor>();
    const undo: (() => void)[] = [];
    for (const [, module] of this.namedModules()) {
      for (const [name, p] of module.ownParameters) {
        let next = done.get(p);
        if (!next) {
          next = replace(p);
          done.set(p, next);
        }
        module.ownParameters.set(name, next);
        undo.push(() => module.ownParameters.set(name, p));
      }
    }
    return () => {
      for (const restore of undo) restore();
    };
  }

  /** Frees every parameter and its gradient; the module is unusable afterwards. */
  dispose(): void {
    for (const p of this.parameters()) {
      p.zeroGrad();
      p.dispose();
    }
  }
}

/** Copies `source` into the storage of `target` (same shape), converting the dtype when needed. */
function copyValues(source: Tensor, target: Tensor): void {
  const backend = target.backend;
  if (source.dtype === target.dtype) {
    const view = { shape: target.shape, strides: contiguousStrides(target.shape), offset: 0 };
    backend.run('copy', { src: source.storage, dst: target.storage }, { srcView: view, dstView: view });
  } else {
    backend.run('cast', { x: source.storage, out: target.storage }, {});
  }
}

/** Children held in a numbered list (`layers.0`, `layers.1`, ...). */
export class ModuleList<M extends Module> extends Module {
  private readonly items: M[] = [];

  constructor(modules: Iterable<M> = []) {
    super();
    for (const m of modules) this.push(m);
  }

  push(module: M): void {
    this.registerModule(String(this.items.length), module);
    this.items.push(module);
  }

  get length(): number {
    return this.items.length;
  }

  at(index: number): M {
    const m = this.items[index];
    if (!m) throw new RangeError(`ModuleList: index ${index} is out of range 0..${this.items.length - 1}`);
    return m;
  }

  [Symbol.iterator](): Iterator<M> {
    return this.items[Symbol.iterator]();
  }
}
