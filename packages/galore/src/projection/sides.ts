/**
 * Which side of a gradient G (m x n) a GaLore projection type projects, as the official GaLore
 * code defines each type:
 *   std          right (R = G Q^T, Q = Vh[:r]) when m >= n, else left (R = P^T G, P = U[:, :r]):
 *                the projector sits on the smaller side, so R has min(m, n) replaced by r.
 *   reverse_std  the opposite side of std.
 *   left, right  always that side.
 *   full         both sides: R = P^T G Q^T (r x r).
 */
import { formatShape } from '@galore-ts/core';

export const PROJECTION_TYPES = ['std', 'reverse_std', 'left', 'right', 'full'] as const;

export type ProjectionType = (typeof PROJECTION_TYPES)[number];

export function isProjectionType(value: unknown): value is ProjectionType {
  return typeof value === 'string' && (PROJECTION_TYPES as readonly string[]).includes(value);
}

export interface ProjectionSides {
  /** P = U[:, :r] (m x r) multiplies from the left. */
  left: boolean;
  /** Q = Vh[:r] (r x n) multiplies from the right (as Q^T). */
  right: boolean;
}

/** The sides a projection of `type` uses for an m x n gradient. */
export function projectionSides(type: ProjectionType, m: number, n: number): ProjectionSides {
  switch (type) {
    case 'std':
      return m >= n ? { left: false, right: true } : { left: true, right: false };
    case 'reverse_std':
      return m >= n ? { left: true, right: false } : { left: false, right: true };
    case 'left':
      return { left: true, right: false };
    case 'right':
      return { left: false, right: true };
    case 'full':
      return { left: true, right: true };
  }
}

/** The rank actually used: an SVD of an m x n matrix has min(m, n) singular vectors. */
export function effectiveRank(rank: number, m: number, n: number): number {
  return Math.min(rank, m, n);
}

/** Shape of the projected gradient R for an m x n gradient. */
export function projectedShape(type: ProjectionType, rank: number, shape: readonly number[]): [number, number] {
  const [m, n] = matrixShape(shape, 'projectedShape');
  const r = effectiveRank(rank, m, n);
  const sides = projectionSides(type, m, n);
  return [sides.left ? r : m, sides.right ? r : n];
}

/** The shapes of the bases: P is m x r, Q is r x n. */
export function basisShapes(
  type: ProjectionType,
  rank: number,
  shape: readonly number[],
): { left?: [number, number]; right?: [number, number] } {
  const [m, n] = matrixShape(shape, 'basisShapes');
  const r = effectiveRank(rank, m, n);
  const sides = projectionSides(type, m, n);
  return {
    ...(sides.left ? { left: [m, r] as [number, number] } : {}),
    ...(sides.right ? { right: [r, n] as [number, number] } : {}),
  };
}

export function matrixShape(shape: readonly number[], where: string): [number, number] {
  if (shape.length !== 2 || !(shape[0]! > 0) || !(shape[1]! > 0)) {
    throw new RangeError(`${where}: GaLore projects 2-D matrices with both sides > 0, got shape ${formatShape(shape)}`);
  }
  return [shape[0]!, shape[1]!];
}
