/**
 * Which Linear layers an adapter wraps, by module name as PEFT matches `target_modules`:
 *   - a string is a regular expression the whole module name must match (`.*\.(q|v)_proj`);
 *   - `all-linear` is every Linear but the output layer (lm_head);
 *   - a list matches a module whose name equals an entry or ends with `.<entry>` (`q_proj`).
 * `modules_to_save` (layers trained in full beside the adapters) match when the name ends with an
 * entry, as PEFT's ModulesToSaveWrapper does.
 */
import { Linear } from '../nn/linear.js';
import type { Module } from '../nn/module.js';
import { formatNames } from '../nn/state-dict.js';

export type TargetModules = string | readonly string[];

export const ALL_LINEAR = 'all-linear';

/** The output layer all-linear leaves out, as PEFT does. */
const OUTPUT_LAYER = 'lm_head';

/** The Linear layers of `model` that `targets` selects, in model order; an entry that selects nothing is an error. */
export function findTargetLinears(model: Module, targets: TargetModules): [string, Linear][] {
  const linears = [...model.namedModules()].filter((entry): entry is [string, Linear] => entry[1] instanceof Linear);
  const selected = linears.filter(([name]) => isTarget(name, targets));
  const unused =
    typeof targets === 'string' ? (selected.length === 0 ? [targets] : []) : unusedEntries(linears, targets);
  if (unused.length > 0 || selected.length === 0) {
    throw new RangeError(
      `target_modules ${JSON.stringify(unused.length > 0 ? unused : targets)} match no Linear layer; the model's are: ${formatNames(linears.map(([n]) => n))}`,
    );
  }
  return selected;
}

export function isTarget(moduleName: string, targets: TargetModules): boolean {
  if (targets === ALL_LINEAR) return shortName(moduleName) !== OUTPUT_LAYER;
  if (typeof targets === 'string') return new RegExp(`^(?:${targets})$`).test(moduleName);
  return targets.some((t) => moduleName === t || moduleName.endsWith(`.${t}`));
}

/** Whether a module is trained in full beside the adapters (PEFT's modules_to_save rule). */
export function isModuleToSave(moduleName: string, modulesToSave: readonly string[]): boolean {
  return modulesToSave.some((entry) => moduleName.endsWith(entry));
}

/** The last component of a dotted module name (`q_proj`), as PEFT saves target_modules. */
export function shortName(moduleName: string): string {
  return moduleName.slice(moduleName.lastIndexOf('.') + 1);
}

function unusedEntries(linears: readonly [string, Linear][], targets: readonly string[]): string[] {
  return targets.filter((t) => !linears.some(([name]) => isTarget(name, [t])));
}
