// The suite run on a second CpuBackend instance: a sanity check of the harness itself.
import { CpuBackend } from '../../packages/core/src/backends/cpu/index.js';
import { describeConformance } from './suite.js';

describeConformance('cpu', async () => new CpuBackend());
