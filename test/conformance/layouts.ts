/** Random shapes and strided layouts for the elementwise and copy cases. */
import fc from 'fast-check';

export function contiguousStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let step = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    strides[d] = step;
    step *= shape[d] as number;
  }
  return strides;
}

export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((p, e) => p * e, 1);
}

/** One input of a broadcasting op: how many elements it stores and the strides it is read with. */
export interface BroadcastOperand {
  size: number;
  strides: number[];
}

/**
 * An operand broadcast along a random subset of dimensions (stride 0), stored with its axes in a
 * random order, so strides are neither row-major nor all non-zero.
 */
export function broadcastOperand(shape: readonly number[]): fc.Arbitrary<BroadcastOperand> {
  const axes = shape.map((_, d) => d);
  return fc
    .tuple(
      fc.array(fc.boolean(), { minLength: shape.length, maxLength: shape.length }),
      fc.shuffledSubarray(axes, { minLength: axes.length, maxLength: axes.length }),
    )
    .map(([broadcast, order]) => {
      const own = shape.map((e, d) => (broadcast[d] ? 1 : e));
      const storedStrides = contiguousStrides(order.map((d) => own[d] as number));
      const strides = shape.map((_, d) => ((own[d] as number) === 1 ? 0 : (storedStrides[order.indexOf(d)] as number)));
      return { size: sizeOf(own), strides };
    });
}

export const shapeArbitrary = fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 0, maxLength: 4 });
