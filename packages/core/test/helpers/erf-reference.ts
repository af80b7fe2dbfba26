/**
 * erf and erfc to float64 accuracy by expansions independent of the implementation under test:
 * below 3 the series erf(x) = 2/sqrt(pi) exp(-x^2) sum_n 2^n x^(2n+1) / (1 3 5 ... (2n+1))
 * (Abramowitz & Stegun 7.1.6, all terms positive, so nothing cancels); from 3 on the continued
 * fraction of erfc (A&S 7.1.14), which keeps erfc's relative accuracy far into the tail. Below 3
 * erfc is 1 - erf (absolute accuracy only).
 */
export function erfcExact(x: number): number {
  if (x < 3) return 1 - erfExact(x);
  let k = x;
  for (let n = 120; n >= 1; n--) k = x + n / 2 / k;
  return expNegSquare(x) / (Math.sqrt(Math.PI) * k);
}

export function erfExact(x: number): number {
  const z = Math.abs(x);
  if (z >= 3) return Math.sign(x) * (1 - erfcExact(z));
  let term = z;
  let total = z;
  for (let n = 1; n < 300 && term > 1e-18 * total; n++) {
    term *= (2 * z * z) / (2 * n + 1);
    total += term;
  }
  return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * expNegSquare(z) * total;
}

/** exp(-x^2) with x^2 = p + e split exactly (Veltkamp / Dekker), so the rounding of x^2 is not lost. */
function expNegSquare(x: number): number {
  const c = 134217729 * x;
  const hi = c - (c - x);
  const lo = x - hi;
  const p = x * x;
  const e = hi * hi - p + 2 * hi * lo + lo * lo;
  return Math.exp(-p) * (1 - e);
}
