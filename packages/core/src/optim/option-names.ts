/**
 * Option objects as users write them. PyTorch, the official GaLore code, bitsandbytes and Hugging
 * Face spell names in snake_case (`weight_decay`, `update_proj_gap`); this library in camelCase
 * (`weightDecay`). Both are accepted, plus a few names other libraries use for the same setting
 * (`min_8bit_size`). A name that is not known is refused with the list of known ones: a typo
 * (`rnak`) or a setting from another library must never be silently ignored.
 *
 * Every optimizer (core's and @galore-ts/galore's) and createOptimizer normalise through here.
 */

/** Other libraries' names that are not the snake_case form of ours, mapped to ours. */
const ALIASES: Readonly<Record<string, string>> = Object.freeze({
  min_8bit_size: 'minQuantizedSize',
  state_dtype: 'stateDType',
  galore_scale: 'scale',
});

/** `update_proj_gap` -> `updateProjGap`. */
function camelCase(name: string): string {
  return name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/**
 * The known name `key` stands for, or undefined: the name itself, its snake_case spelling, or an
 * alias (the built-in ones and `aliases`).
 */
function canonicalName(
  key: string,
  known: readonly string[],
  aliases: Readonly<Record<string, string>>,
): string | undefined {
  if (known.includes(key)) return key;
  const alias = aliases[key] ?? ALIASES[key];
  if (alias !== undefined && known.includes(alias)) return alias;
  const camel = camelCase(key);
  return known.includes(camel) ? camel : undefined;
}

/**
 * Returns `given` keyed by the known camelCase names; entries whose value is undefined count as
 * not given. Throws `<where>: unknown option '<key>' ...` for a name that is not known, and when
 * one option is given twice under two spellings.
 */
export function normalizeOptions(
  where: string,
  given: object,
  known: readonly string[],
  aliases: Readonly<Record<string, string>> = {},
): Record<string, unknown> {
  if (typeof given !== 'object' || given === null || Array.isArray(given)) {
    throw new TypeError(`${where}: expected an options object, got ${String(given)}`);
  }
  const out: Record<string, unknown> = {};
  const spelledAs = new Map<string, string>();
  for (const [key, value] of Object.entries(given)) {
    const name = canonicalName(key, known, aliases);
    if (name === undefined) throw new RangeError(`${where}: ${unknownOption(key, known)}`);
    const earlier = spelledAs.get(name);
    if (earlier !== undefined) {
      throw new RangeError(`${where}: ${name} is given twice (as '${earlier}' and '${key}')`);
    }
    spelledAs.set(name, key);
    if (value !== undefined) out[name] = value;
  }
  return out;
}

/** `{ ...a, ...b }`, refusing a key present in both (describing the two places as `aWhere`/`bWhere`). */
export function mergeDisjoint(
  where: string,
  a: Record<string, unknown>,
  aWhere: string,
  b: Record<string, unknown>,
  bWhere: string,
): Record<string, unknown> {
  for (const key of Object.keys(b)) {
    if (key in a) throw new RangeError(`${where}: ${key} is given twice (${aWhere} and ${bWhere})`);
  }
  return { ...a, ...b };
}

/** The message for an unknown name: the nearest known one when it is two edits away at most, or begins with it. */
function unknownOption(key: string, known: readonly string[]): string {
  const near = nearest(camelCase(key), known);
  const hint = near === undefined ? '' : ` (did you mean '${near}'?)`;
  return `unknown option '${key}'${hint}; known options: ${known.join(', ')} (or their snake_case spellings)`;
}

function nearest(key: string, known: readonly string[]): string | undefined {
  const lower = key.toLowerCase();
  const extended = known.find((name) => lower.length >= 4 && name.toLowerCase().startsWith(lower));
  if (extended !== undefined) return extended;
  let best: string | undefined;
  let bestDistance = 3;
  for (const name of known) {
    const d = editDistance(lower, name.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [name, d];
  }
  return best;
}

/** Optimal string alignment distance: insertions, deletions, substitutions and adjacent swaps. */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}
