/**
 * The dynamic 8-bit quantisation map of bitsandbytes' 8-bit optimizers (Dettmers et al., "8-bit
 * Optimizers via Block-wise Quantization", 2022): 256 sorted values in [-1, 1] (signed, for the
 * first moment) or [0, 1] (unsigned, for the second), spread like a float with a dynamic exponent:
 * each decade 10^-e (e = 6 ... 0) gets a linear run of fraction values, more of them for the larger
 * decades, plus 0 and 1.
 *
 * Decade i (scale 10^(i - 6)) contributes the midpoints of an even split of [0.1, 1] into 2^i
 * parts when signed (mirrored to the negative side too), or 2^(i + 1) parts when unsigned. That is
 * 2 * 127 or 254 values, plus 0 and 1: 256 in both cases.
 */

const DECADES = 7;

/** The 256 entries, sorted ascending (float64; stored as float32 by the optimizers). */
export function dynamicQuantizationMap(signed: boolean): Float64Array {
  const values: number[] = [];
  for (let i = 0; i < DECADES; i++) {
    const parts = signed ? 2 ** i : 2 ** (i + 1);
    const scale = 10 ** (i - (DECADES - 1));
    for (let j = 0; j < parts; j++) {
      // Midpoint of the j-th of `parts` equal pieces of [0.1, 1].
      const low = 0.1 + (0.9 * j) / parts;
      const high = 0.1 + (0.9 * (j + 1)) / parts;
      const mid = scale * ((low + high) / 2);
      values.push(mid);
      if (signed) values.push(-mid);
    }
  }
  values.push(0, 1);
  if (values.length !== 256) throw new Error(`internal: the dynamic map has ${values.length} entries, expected 256`);
  return Float64Array.from(values).sort();
}
