import type { GroupOptions } from './optimizer.js';

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

/** The hyper-parameters of every Adam-family optimizer (core's and @galore-ts/galore's). */
export interface AdamHyperParameters extends GroupOptions {
  lr: number;
  /** Decay rates of the first and second moment estimates. */
  betas: readonly [number, number];
  /** Added to sqrt(v_hat), outside the square root, as PyTorch does. */
  eps: number;
  /** Decoupled: p *= 1 - lr * weightDecay before the Adam step. */
  weightDecay: number;
}

/** Throws an error naming `where` and the option for an invalid Adam hyper-parameter. */
export function checkAdamOptions(where: string, o: AdamHyperParameters): void {
  checkOption(where, 'lr', o.lr, nonNegative, 'a finite number >= 0');
  if (!Array.isArray(o.betas) || o.betas.length !== 2) {
    throw new RangeError(`${where}: betas must be a pair [beta1, beta2], got ${describeValue(o.betas)}`);
  }
  checkOption(where, 'betas[0]', o.betas[0], inUnitInterval, 'in [0, 1)');
  checkOption(where, 'betas[1]', o.betas[1], inUnitInterval, 'in [0, 1)');
  checkOption(where, 'eps', o.eps, positive, 'a finite number > 0');
  checkOption(where, 'weightDecay', o.weightDecay, nonNegative, 'a finite number >= 0');
}

export function describeValue(value: unknown): string {
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(describeValue).join(', ')}]`;
  return String(value);
}
