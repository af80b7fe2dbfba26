/**
 * Which weights GaLore projects, chosen by module-name patterns as Hugging Face's
 * `optim_target_modules` does: a single string is a regular expression the whole module name must
 * match; a list matches a module whose name equals an entry, contains it, or fully matches it as
 * a regular expression. The module name of `model.layers.0.mlp.up_proj.weight` is
 * `model.layers.0.mlp.up_proj`. Only `.weight` parameters are candidates (Hugging Face takes the
 * weights of matched nn.Linear modules); one that matches but is not 2-D is an error.
 */
import { formatShape, type Tensor } from '@galore-ts/core';

export type TargetModules = string | readonly string[];

/** LLaMA's attention and MLP projections (the official scripts' ["attn", "mlp"]). */
export const DEFAULT_TARGET_MODULES: readonly string[] = Object.freeze(['attn', 'mlp']);

export interface TargetSelection {
  /** Projected weights, in model order. */
  targets: [string, Tensor][];
  /** Everything else, in model order. */
  others: [string, Tensor][];
}

/** The module a parameter belongs to, or undefined for parameters that are not `.weight`. */
function moduleNameOf(paramName: string): string | undefined {
  return paramName.endsWith('.weight') ? paramName.slice(0, -'.weight'.length) : undefined;
}

function fullMatch(pattern: string, name: string): boolean {
  try {
    return new RegExp(`^(?:${pattern})$`).test(name);
  } catch {
    return false;
  }
}

/**
 * Splits named parameters into GaLore targets and the rest. Every pattern given must match at least
 * one weight; with the default patterns, at least one weight must match either.
 */
export function selectTargets(
  namedParams: Iterable<readonly [string, Tensor]>,
  targetModules?: TargetModules,
): TargetSelection {
  const params = dedupe(namedParams);
  // A pattern the user names must match something; the defaults need only match together.
  const strict = targetModules !== undefined;
  targetModules ??= DEFAULT_TARGET_MODULES;
  const patterns = typeof targetModules === 'string' ? [targetModules] : [...targetModules];
  if (patterns.length === 0)
    throw new RangeError('selectTargets: targetModules is empty; name at least one module pattern');
  for (const p of patterns) {
    if (typeof p !== 'string' || p.length === 0)
      throw new TypeError(`selectTargets: target patterns must be non-empty strings, got ${JSON.stringify(p)}`);
  }
  const matches = (pattern: string, module: string): boolean =>
    typeof targetModules === 'string'
      ? fullMatch(pattern, module)
      : module === pattern || module.includes(pattern) || fullMatch(pattern, module);
  const used = new Set<string>();
  const selection: TargetSelection = { targets: [], others: [] };
  for (const [name, t] of params) {
    const module = moduleNameOf(name);
    const hit = module === undefined ? undefined : patterns.filter((p) => matches(p, module));
    if (!hit || hit.length === 0) {
      selection.others.push([name, t]);
      continue;
    }
    if (t.rank !== 2) {
      throw new RangeError(
        `selectTargets: '${name}' matches the target pattern ${JSON.stringify(hit[0])} but has shape ${formatShape(t.shape)}; GaLore projects 2-D weights only`,
      );
    }
    for (const p of hit) used.add(p);
    selection.targets.push([name, t]);
  }
  const unused = strict ? patterns.filter((p) => !used.has(p)) : used.size === 0 ? patterns : [];
  if (unused.length > 0) {
    const candidates = params.map(([n]) => moduleNameOf(n)).filter((n): n is string => n !== undefined);
    const sample =
      candidates.slice(0, 8).join(', ') + (candidates.length > 8 ? `, ... (${candidates.length} in all)` : '');
    throw new RangeError(
      `selectTargets: target pattern(s) ${unused.map((p) => JSON.stringify(p)).join(', ')} match no parameter; modules with weights are: ${sample || 'none'}`,
    );
  }
  return selection;
}

/** The same tensor under two names (tied weights) is listed once, under its first name. */
function dedupe(namedParams: Iterable<readonly [string, Tensor]>): [string, Tensor][] {
  const seen = new Set<Tensor>();
  const out: [string, Tensor][] = [];
  for (const entry of namedParams) {
    if (!Array.isArray(entry) || entry.length !== 2 || typeof entry[0] !== 'string') {
      throw new TypeError('selectTargets: expected [name, tensor] pairs, e.g. model.namedParameters()');
    }
    const [name, t] = entry;
    if (seen.has(t)) continue;
    seen.add(t);
    out.push([name, t]);
  }
  return out;
}
