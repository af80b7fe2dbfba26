/**
 * Helpers shared by every way of loading weights into a module (a state dict in memory, a
 * safetensors file): comparing key sets, listing names in errors, checking shapes and dtypes.
 */
import { isFloating } from '../dtype.js';
import { formatShape, shapesEqual } from '../shape.js';
import type { Tensor } from '../tensor.js';

/** A tensor as described by a state dict or a file header. */
export interface TensorDescription {
  readonly shape: readonly number[];
  readonly dtype: string;
}

export interface KeyComparison {
  /** Expected names the source does not provide. */
  missingKeys: string[];
  /** Names the source provides that nothing expects. */
  unexpectedKeys: string[];
}

/**
 * Compares the names a module expects with the names a source provides. `aliases` maps a name to
 * the other names of the same tensor (tied weights): an alias is not missing when any name of its
 * tensor is provided.
 */
export function compareKeys(
  expected: readonly string[],
  provided: Iterable<string>,
  aliases: ReadonlyMap<string, readonly string[]> = new Map(),
): KeyComparison {
  const given = new Set(provided);
  const wanted = new Set(expected);
  const missingKeys = expected.filter(
    (name) => !given.has(name) && !(aliases.get(name) ?? []).some((other) => given.has(other)),
  );
  const unexpectedKeys = [...given].filter((name) => !wanted.has(name));
  return { missingKeys, unexpectedKeys };
}

/** "a, b, c" or "a, b, ... (12 in all)" for error messages. */
export function formatNames(names: readonly string[], max = 10): string {
  if (names.length <= max) return names.join(', ');
  return `${names.slice(0, max).join(', ')}, ... (${names.length} in all)`;
}

/** Throws one error listing every missing and unexpected key, or returns quietly. */
export function assertKeysMatch(where: string, keys: KeyComparison): void {
  const problems: string[] = [];
  if (keys.missingKeys.length > 0) problems.push(`missing keys: ${formatNames(keys.missingKeys)}`);
  if (keys.unexpectedKeys.length > 0) problems.push(`unexpected keys: ${formatNames(keys.unexpectedKeys)}`);
  if (problems.length > 0)
    throw new Error(`${where}: the state dict does not match the module; ${problems.join('; ')}`);
}

/**
 * Why `source` cannot be loaded into `target`, or undefined when it can. Shapes must be equal;
 * dtypes may differ between floating types (the values are converted, as PyTorch's copy_ does),
 * but a non-floating source cannot fill a floating parameter.
 */
export function describeMismatch(name: string, target: Tensor, source: TensorDescription): string | undefined {
  if (!shapesEqual(target.shape, source.shape)) {
    return `${name}: expected shape ${formatShape(target.shape)}, got ${formatShape(source.shape)}`;
  }
  const floating = ['float32', 'float64', 'bfloat16', 'float16', 'F32', 'F64', 'BF16', 'F16'];
  if (isFloating(target.dtype) && !floating.includes(source.dtype)) {
    return `${name}: expected a floating tensor (${target.dtype}), got ${source.dtype}`;
  }
  return undefined;
}

/** Throws one error listing every shape or dtype mismatch. */
export function assertNoMismatches(where: string, mismatches: readonly string[]): void {
  if (mismatches.length === 0) return;
  throw new Error(`${where}: ${mismatches.length} tensor(s) do not fit the module: ${formatNames(mismatches, 8)}`);
}
