/** In-place AdamW (PyTorch's formulation) as one elementwise pass over param, m and v. */
import type { GpuKernel } from './context.js';
import { runMap } from './map.js';

export const adamw: GpuKernel<'adamw'> = (ctx, { param, grad, m, v }, params) => {
  const { lr, beta1, beta2, eps, weightDecay, biasCorrection1, biasCorrection2 } = params;
  runMap(ctx, {
    kernel: 'WebGPUBackend.adamw',
    size: param.size,
    inputs: { p_in: param, grad, m_in: m, v_in: v },
    outputs: { param, m, v },
    pre: `    let gi = ld_grad(i_grad);
    let mi = p.beta1 * ld_m_in(i_m_in) + p.oneMinusBeta1 * gi;
    let vi = p.beta2 * ld_v_in(i_v_in) + p.oneMinusBeta2 * gi * gi;
    let decayed = ld_p_in(i_p_in) * p.decay;
    let updated = decayed - p.stepSize * mi / (sqrt(vi / p.bc2) + p.eps);`,
    values: { param: 'updated', m: 'mi', v: 'vi' },
    params: [
      ['beta1', 'f32'],
      ['beta2', 'f32'],
      ['oneMinusBeta1', 'f32'],
      ['oneMinusBeta2', 'f32'],
      ['decay', 'f32'],
      ['stepSize', 'f32'],
      ['bc2', 'f32'],
      ['eps', 'f32'],
    ],
    paramValues: {
      beta1,
      beta2,
      oneMinusBeta1: 1 - beta1,
      oneMinusBeta2: 1 - beta2,
      decay: 1 - lr * weightDecay,
      stepSize: lr / biasCorrection1,
      bc2: biasCorrection2,
      eps,
    },
  });
};
