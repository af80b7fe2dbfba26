// The shared conformance suite on the WebGPU backend (dawn-node). Without an adapter (no GPU and no
// lavapipe: see scripts/setup-webgpu-cpu.sh) the suite skips with the reason;
// GALORE_REQUIRE_WEBGPU=1 makes that a failure, for machines that must have WebGPU.
import { createWebGPUBackend } from '../../packages/backend-webgpu/src/index.js';
import { describeConformance } from './suite.js';

describeConformance('webgpu', async () => {
  try {
    return await createWebGPUBackend();
  } catch (error) {
    return { skip: (error as Error).message };
  }
});
