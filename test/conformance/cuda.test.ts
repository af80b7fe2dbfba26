// The shared conformance suite on the CUDA backend. Without the addon, a driver or a device the
// suite skips with the reason (GALORE_REQUIRE_CUDA=1 makes that a failure, for GPU runners).
import { createCudaBackend, cudaStatus } from '../../packages/backend-cuda/src/index.js';
import { describeConformance } from './suite.js';

describeConformance('cuda', async () => {
  const status = cudaStatus();
  if (status.deviceCount === 0) return { skip: status.reason ?? 'no CUDA device' };
  return createCudaBackend();
});
