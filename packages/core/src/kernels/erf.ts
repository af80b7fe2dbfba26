/**
 * erf and erfc to float64 accuracy, and the standard normal CDF built on them (GELU's Phi).
 *
 * W. J. Cody's near-minimax rational approximations ("Rational Chebyshev approximations for the
 * error function", Math. Comp. 23 (1969) 631-637; the coefficients of his SPECFUN routine CALERF),
 * which approximate erf and erfc to at least 18 significant digits on three intervals of |x|:
 *   |x| <= 0.46875      erf(x)  = x R1(x^2)
 *   0.46875 < |x| <= 4  erfc(x) = exp(-x^2) R2(x)
 *   |x| > 4             erfc(x) = exp(-x^2) / x (1/sqrt(pi) - z R3(z)),  z = 1 / x^2
 * Each R is a ratio of polynomials; its coefficients below (the float64 values nearest Cody's
 * 18-digit ones) are listed highest degree first.
 */

const R1_NUM = [0.18577770618460315, 3.1611237438705655, 113.86415415105016, 377.485237685302, 3209.3775891384694];
const R1_DEN = [1, 23.601290952344122, 244.02463793444417, 1282.6165260773723, 2844.236833439171];
const R2_NUM = [
  2.1531153547440383e-8, 0.5641884969886701, 8.883149794388377, 66.11919063714163, 298.6351381974001, 881.952221241769,
  1712.0476126340707, 2051.0783778260716, 1230.3393547979972,
];
const R2_DEN = [
  1, 15.744926110709835, 117.6939508913125, 537.1811018620099, 1621.3895745666903, 3290.7992357334597,
  4362.619090143247, 3439.3676741437216, 1230.3393548037495,
];
const R3_NUM = [
  0.016315387137302097, 0.30532663496123236, 0.36034489994980445, 0.12578172611122926, 0.016083785148742275,
  0.0006587491615298378,
];
const R3_DEN = [
  1, 2.568520192289822, 1.8729528499234604, 0.5279051029514285, 0.06051834131244132, 0.0023352049762686918,
];

/** Cody's three rationals: ratio(num, den, t) on |x| <= small, |x| <= middle, and beyond. */
export const ERF_RATIONALS = {
  small: 0.46875,
  middle: 4,
  /** erf(x) = x num(x^2) / den(x^2). */
  r1: { num: R1_NUM, den: R1_DEN },
  /** erfc(x) = exp(-x^2) num(x) / den(x). */
  r2: { num: R2_NUM, den: R2_DEN },
  /** erfc(x) = exp(-x^2) / x (1/sqrt(pi) - z num(z) / den(z)), z = 1 / x^2. */
  r3: { num: R3_NUM, den: R3_DEN },
} as const;

const FRAC_1_SQRT_PI = 0.5641895835477563;
const FRAC_1_SQRT_2PI = 0.3989422804014327;

function horner(coefficients: readonly number[], t: number): number {
  let acc = coefficients[0] as number;
  for (let i = 1; i < coefficients.length; i++) acc = acc * t + (coefficients[i] as number);
  return acc;
}

/** exp(-(k/16)^2) for every k that erfcTail reaches (y <= 27), so expNegSquare needs one exp. */
const EXP_NEG_SQUARE = Float64Array.from({ length: 27 * 16 + 1 }, (_, k) => Math.exp(-((k / 16) ** 2)));

/**
 * exp(-y^2) without the error of rounding y^2 (which exp would pass on magnified y^2 times):
 * y = a + d with a a multiple of 1/16, so a^2 is exact, and exp(-y^2) = exp(-a^2) exp(-(y - a)(y + a)).
 */
function expNegSquare(y: number): number {
  const k = Math.trunc(y * 16);
  const a = k / 16;
  return (EXP_NEG_SQUARE[k] as number) * Math.exp(-(y - a) * (y + a));
}

/** erfc(y) for y > 0.46875 (and NaN for NaN). */
function erfcTail(y: number): number {
  // Beyond 27 erfc is below the smallest double (and the table of expNegSquare ends).
  if (y > 27) return 0;
  if (y <= ERF_RATIONALS.middle) return (expNegSquare(y) * horner(R2_NUM, y)) / horner(R2_DEN, y);
  const z = 1 / (y * y);
  const r = (z * horner(R3_NUM, z)) / horner(R3_DEN, z);
  return (expNegSquare(y) * (FRAC_1_SQRT_PI - r)) / y;
}

function erfSmall(x: number): number {
  const t = x * x;
  return (x * horner(R1_NUM, t)) / horner(R1_DEN, t);
}

export function erf(x: number): number {
  const y = Math.abs(x);
  if (y <= ERF_RATIONALS.small) return erfSmall(x);
  const r = 1 - erfcTail(y);
  return x < 0 ? -r : r;
}

/** 1 - erf(x), accurate where it is tiny (large positive x). */
export function erfc(x: number): number {
  const y = Math.abs(x);
  if (y <= ERF_RATIONALS.small) return 1 - erfSmall(x);
  const tail = erfcTail(y);
  return x < 0 ? 2 - tail : tail;
}

/** Phi(x) = P(N(0, 1) <= x), through erfc so it keeps its relative accuracy in the left tail. */
export function normalCdf(x: number): number {
  return 0.5 * erfc(-x * Math.SQRT1_2);
}

/** phi(x), the standard normal density. */
export function normalPdf(x: number): number {
  return FRAC_1_SQRT_2PI * Math.exp(-0.5 * x * x);
}
