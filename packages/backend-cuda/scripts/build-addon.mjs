#!/usr/bin/env node
// Builds the CUDA addon (build/Release/galore_cuda.node) and the standalone self-test with CMake.
//
//   node scripts/build-addon.mjs             build; fails on a compile error
//   node scripts/build-addon.mjs --optional  the npm install hook: never fails, says why it skipped
//
// Without nvcc or cmake the build is skipped with a message and build/status.json records why,
// so that cudaStatus() can tell the user later. GALORE_REQUIRE_CUDA_BUILD=1 turns a skip into a
// failure (CI on a machine with nvcc). GALORE_CUDA_ARCHS narrows the architectures (e.g. "80"),
// GALORE_SKIP_CUDA_BUILD=1 skips on purpose, GALORE_BUILD_JOBS sets the parallel jobs.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const packageDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const buildDir = join(packageDir, 'build');
const optional = process.argv.includes('--optional');
const required = process.env.GALORE_REQUIRE_CUDA_BUILD === '1';
const log = (message) => console.log(`[@galore-ts/backend-cuda] ${message}`);

function writeStatus(status) {
  mkdirSync(buildDir, { recursive: true });
  writeFileSync(
    join(buildDir, 'status.json'),
    `${JSON.stringify({ ...status, at: new Date().toISOString() }, null, 2)}\n`,
  );
}

function skip(reason) {
  writeStatus({ built: false, reason });
  log(`skipping the CUDA addon build: ${reason}`);
  log('the CPU and WebGPU backends are unaffected; createCudaBackend() will explain this reason.');
  process.exit(required && !optional ? 1 : 0);
}

function failBuild(reason) {
  writeStatus({ built: false, reason });
  log(`the CUDA addon build failed: ${reason}`);
  process.exit(optional && !required ? 0 : 1);
}

function onPath(name) {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && existsSync(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

function findNvcc() {
  const candidates = [
    process.env.CUDACXX,
    process.env.CUDA_HOME && join(process.env.CUDA_HOME, 'bin', 'nvcc'),
    process.env.CUDA_PATH && join(process.env.CUDA_PATH, 'bin', 'nvcc'),
    onPath('nvcc'),
    '/usr/local/cuda/bin/nvcc',
  ];
  return candidates.find((path) => path && existsSync(path));
}

// Node's own headers ship beside the binary (<prefix>/include/node); npm's nodedir setting wins.
function findNodeHeaders() {
  const roots = [process.env.npm_config_nodedir, dirname(dirname(process.execPath))].filter(Boolean);
  for (const root of roots) {
    const dir = join(root, 'include', 'node');
    if (existsSync(join(dir, 'node_api.h'))) return dir;
  }
  return undefined;
}

function findAddonApi() {
  try {
    const require = createRequire(join(packageDir, 'package.json'));
    return dirname(require.resolve('node-addon-api/package.json'));
  } catch {
    return undefined;
  }
}

function run(command, args) {
  log(`${command} ${args.join(' ')}`);
  const result = spawnSync(command, args, { cwd: packageDir, stdio: 'inherit' });
  if (result.error) return `${command} could not start: ${result.error.message}`;
  if (result.status !== 0) return `${command} exited with status ${result.status}`;
  return undefined;
}

if (process.env.GALORE_SKIP_CUDA_BUILD === '1') skip('GALORE_SKIP_CUDA_BUILD=1 was set at install time');
const nvcc = findNvcc();
if (!nvcc)
  skip('nvcc was not found at install time (looked at CUDACXX, CUDA_HOME, CUDA_PATH, PATH and /usr/local/cuda/bin)');
const cmake = onPath('cmake');
if (!cmake) skip('cmake was not found on PATH at install time (CMake 3.18 or newer builds the addon)');
const nodeHeaders = findNodeHeaders();
if (!nodeHeaders)
  skip(`Node's C headers (include/node/node_api.h) were not found next to ${process.execPath}; set npm_config_nodedir`);
const addonApi = findAddonApi();
if (!addonApi) skip('the node-addon-api package is not installed');

const archs = process.env.GALORE_CUDA_ARCHS?.trim();
const jobs = process.env.GALORE_BUILD_JOBS ?? String(Math.max(1, cpus().length));
const configure = [
  '-S',
  packageDir,
  '-B',
  buildDir,
  '-DCMAKE_BUILD_TYPE=Release',
  `-DCMAKE_CUDA_COMPILER=${nvcc}`,
  `-DNODE_INCLUDE_DIR=${nodeHeaders}`,
  `-DNODE_ADDON_API_DIR=${addonApi}`,
];
// A narrowed build replaces the cached list; an unset variable restores the default list.
configure.push(archs ? `-DGALORE_CUDA_ARCHS=${archs.replaceAll(',', ';')}` : '-UGALORE_CUDA_ARCHS');

const started = Date.now();
const configureError = run(cmake, configure);
if (configureError) failBuild(`CMake configuration failed (${configureError}); see the output above`);
const buildError = run(cmake, ['--build', buildDir, '--parallel', jobs]);
if (buildError) failBuild(`compilation failed (${buildError}); see the output above`);

const addon = join(buildDir, 'Release', 'galore_cuda.node');
if (!existsSync(addon)) failBuild(`the build finished but ${addon} is missing`);
writeStatus({
  built: true,
  reason: null,
  nvcc,
  archs: archs || 'default (sm_80, sm_86, sm_89, sm_90 + compute_90 PTX)',
});
log(`built ${addon} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
