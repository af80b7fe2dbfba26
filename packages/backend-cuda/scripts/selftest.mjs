#!/usr/bin/env node
// Runs the standalone self-test (build/Release/galore_cuda_selftest), which checks every kernel
// against a CPU reference on the GPU, or says there is no device. Extra arguments pass through
// (e.g. `npm run selftest -w @galore-ts/backend-cuda -- matmul`).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const program = join(
  resolve(dirname(fileURLToPath(import.meta.url)), '..'),
  'build',
  'Release',
  'galore_cuda_selftest',
);
if (!existsSync(program)) {
  console.error(
    `${program} is missing: run \`npm run build:addon -w @galore-ts/backend-cuda\` first (needs nvcc and CMake)`,
  );
  process.exit(1);
}
const result = spawnSync(program, process.argv.slice(2), { stdio: 'inherit' });
process.exit(result.status ?? 1);
