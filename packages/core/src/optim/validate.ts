/** Hyper-parameter checks shared by the optimizers (core's and @galore-ts/galore's), with errors that name the group. */

/** Throws a RangeError `<where>: <name> must be <expected>, got <value>` unless `ok(value)`. */
export function checkOption(
  where: string,
  name: string,
  value: unknown,
  ok: (v: number) => boolean,
  expected: string,
): void {
  if (typeof value !== 'number' || Number.isNaN(value) || !ok(value)) {
    throw new RangeError(`${where}: ${name} must be ${expected}, got ${describeValue(value)}`);
  }
}

/** Throws a TypeError unless `value` is a boolean (or undefined when `optional`). */
export function checkFlag(where: string, name: string, value: unknown, optional = false): void {
  if (typeof value === 'boolean' || (optional && value === undefined)) return;
  throw new TypeError(
    `${where}: ${name} must be ${optional ? 'true, false or undefined' : 'true or false'}, got ${describeValue(value)}`,
  );
}

/** The prefix of every option error: the optimizer and the group index. */
export function groupLabel(optimizer: string, index: number): string {
  return `${optimizer}: parameter group ${index}`;
}

export const nonNegative = (v: number): boolean => v >= 0 && Number.isFinite(v);
export const positive = (v: number): boolean => v > 0 && Number.isFinite(v);
export const inUnitInterval = (v: number): boolean => v >= 0 && v < 1;

export function describeValue(value: unknown): string {
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(describeValue).join(', ')}]`;
  return String(value);
}
