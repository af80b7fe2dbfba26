/**
 * The GaLore options a parameter group may carry (Hugging Face / official names in comments), their
 * paper defaults, and the checks that turn a bad value into an error before training starts.
 */
import type { GroupOptions } from '@galore-ts/core';
import { checkOption as checkNumber, describeValue } from '@galore-ts/core';
import type { SvdMethod } from '../projection/projector.js';
import { isProjectionType, PROJECTION_TYPES, type ProjectionType } from '../projection/sides.js';
import { SUBSPACE_CHANGE_POLICIES, type SubspaceChangePolicy } from '../projection/subspace-change.js';

export interface GaLoreGroupOptions extends GroupOptions, GaLoreSettings {
  /** Projection rank r (`rank`). Only groups that set it are projected. */
  rank?: number;
}

/** The GaLore settings other than rank. */
export interface GaLoreSettings {
  /** Steps between subspace refreshes, T (`update_proj_gap`). */
  updateProjGap: number;
  /** alpha, multiplying the projected-back update (`scale`, HF `galore_scale`). */
  scale: number;
  /** `proj_type`. */
  projType: ProjectionType;
  /** How the top-r singular vectors are found. */
  svd: SvdMethod;
  /** Randomized SVD: extra sketch columns and power iterations. */
  oversampling: number;
  powerIterations: number;
  /** What the moments do when the subspace changes (see projection/subspace-change.ts). */
  subspaceChange: SubspaceChangePolicy;
  /** Seed of the randomized sketches. */
  seed: number;
}

/** The paper's defaults (T = 200, alpha = 0.25, rank 128), official projection and moment policy. */
export const GALORE_DEFAULTS = Object.freeze({
  rank: 128,
  updateProjGap: 200,
  scale: 0.25,
  projType: 'std' as ProjectionType,
  svd: 'exact' as SvdMethod,
  oversampling: 8,
  powerIterations: 2,
  subspaceChange: 'keep' as SubspaceChangePolicy,
  seed: 0,
});

/** Every GaLore option except `rank`, which marks a group as projected and so has no group default. */
export const GALORE_GROUP_DEFAULTS: Readonly<GaLoreSettings> = Object.freeze({
  updateProjGap: GALORE_DEFAULTS.updateProjGap,
  scale: GALORE_DEFAULTS.scale,
  projType: GALORE_DEFAULTS.projType,
  svd: GALORE_DEFAULTS.svd,
  oversampling: GALORE_DEFAULTS.oversampling,
  powerIterations: GALORE_DEFAULTS.powerIterations,
  subspaceChange: GALORE_DEFAULTS.subspaceChange,
  seed: GALORE_DEFAULTS.seed,
});

export { groupLabel, inUnitInterval, nonNegative as isNonNegative, positive as isPositive } from '@galore-ts/core';
/** Core's option checks, under the names this package has always exported. */
export { checkNumber, describeValue };

export const isPositiveInteger = (v: number): boolean => Number.isInteger(v) && v > 0;
export const isNonNegativeInteger = (v: number): boolean => Number.isInteger(v) && v >= 0;

/** Checks the GaLore options of a group (rank only when the group is projected). */
export function checkGaLoreOptions(where: string, o: GaLoreGroupOptions): void {
  if (o.rank !== undefined) checkNumber(where, 'rank', o.rank, isPositiveInteger, 'a positive integer');
  checkNumber(
    where,
    'updateProjGap',
    o.updateProjGap,
    isPositiveInteger,
    'a positive integer (steps between refreshes)',
  );
  checkNumber(where, 'scale', o.scale, Number.isFinite, 'a finite number');
  if (!isProjectionType(o.projType)) {
    throw new RangeError(
      `${where}: projType must be one of ${PROJECTION_TYPES.join(', ')}, got ${describeValue(o.projType)}`,
    );
  }
  if (o.svd !== 'exact' && o.svd !== 'randomized') {
    throw new RangeError(`${where}: svd must be 'exact' or 'randomized', got ${describeValue(o.svd)}`);
  }
  checkNumber(where, 'oversampling', o.oversampling, isNonNegativeInteger, 'an integer >= 0');
  checkNumber(where, 'powerIterations', o.powerIterations, isNonNegativeInteger, 'an integer >= 0');
  if (!(SUBSPACE_CHANGE_POLICIES as readonly string[]).includes(o.subspaceChange)) {
    throw new RangeError(
      `${where}: subspaceChange must be one of ${SUBSPACE_CHANGE_POLICIES.join(', ')}, got ${describeValue(o.subspaceChange)}`,
    );
  }
  checkNumber(where, 'seed', o.seed, Number.isSafeInteger, 'a safe integer');
}
