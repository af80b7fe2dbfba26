#!/usr/bin/env node
// Prepares the folder that travels to a GPU machine with no Node and no network (see
// docs/GPU-CHECK.md). Run here by `scripts/gpu-check.sh --pack`; plain JavaScript because it runs
// before anything is built.
//
//   node scripts/gpu-check/pack.mjs [--out .gpu-pack] [--with-webgpu]
//
// It writes:
//   node-linux-x64.tar.xz  this Node (process.execPath) and its C headers (include/node/*.h, which
//                          the CUDA addon's build needs), xz-compressed; reused while the same
//                          binary was packed at the same level
//   app.tar.gz             packages/*/dist (JavaScript only), the compiled check scripts
//                          (scripts/gpu-check/dist), and node_modules: the runtime dependencies of
//                          core, galore and backend-cuda, vitest and fast-check (the test suites
//                          run from the TypeScript sources that travel anyway), and with
//                          --with-webgpu the dawn package (linux-x64 binary only)
//   manifest.json          what is in it, the sizes, and the estimate of what travels in all
//
// GPU_CHECK_XZ_LEVEL sets the xz level for Node (default 6: about a minute of CPU; 0 is fast, for tests).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  cpSync,
  createReadStream,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const args = process.argv.slice(2);
const outIndex = args.indexOf('--out');
const outDir = resolve(root, outIndex >= 0 ? args[outIndex + 1] : '.gpu-pack');
const withWebgpu = args.includes('--with-webgpu');
const xzLevel = process.env.GPU_CHECK_XZ_LEVEL ?? '6';
const log = (message) => console.log(`[gpu-check --pack] ${message}`);

/** The packages whose dist/ travels (the CLI stays behind: its plotting dependencies are large). */
const PACKAGES = ['core', 'galore', 'backend-cuda', 'backend-webgpu'];
/** Bare packages needed on the device besides the workspace packages' own dependencies. */
const TOOLS = ['vitest', 'fast-check'];
/**
 * Dependencies loaded lazily by code the check never runs, left out (their package.json stays, so
 * a lookup finds the package): gpt-tokenizer serves only the gpt2 tokenizer (22 MB of encodings).
 */
const LAZY_UNUSED = ['gpt-tokenizer'];
/** The travel limit of the device tool, and the share of it the pack may take. */
const TRAVEL_LIMIT = 64 * 1024 * 1024;

function run(command, commandArgs, options = {}) {
  const result = spawnSync(command, commandArgs, { cwd: root, stdio: 'inherit', ...options });
  if (result.error) throw new Error(`${command} could not start: ${result.error.message}`);
  if (result.status !== 0) throw new Error(`${command} ${commandArgs.join(' ')} exited with ${result.status}`);
  return result;
}

function newestMtime(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/** dist/ is rebuilt (npm run build) when missing or older than any source file of its package. */
function ensureBuilt() {
  const stale = PACKAGES.filter((pkg) => {
    const built = join(root, 'packages', pkg, 'dist', 'index.js');
    return !existsSync(built) || statSync(built).mtimeMs < newestMtime(join(root, 'packages', pkg, 'src'));
  });
  if (stale.length === 0) {
    log('dist/ is up to date for every package');
    return;
  }
  log(`building (npm run build): dist/ is missing or older than src/ in ${stale.join(', ')}`);
  run('npm', ['run', 'build']);
}

/** Compiles the check scripts (TypeScript) to scripts/gpu-check/dist; @galore-ts/* stays external (dist). */
async function compileScripts() {
  const { build } = await import('esbuild');
  const dir = join(root, 'scripts', 'gpu-check');
  const entryPoints = readdirSync(dir)
    .filter((name) => name.endsWith('.ts') && name !== 'common.ts')
    .map((name) => join(dir, name));
  rmSync(join(dir, 'dist'), { recursive: true, force: true });
  await build({
    entryPoints,
    outdir: join(dir, 'dist'),
    outExtension: { '.js': '.mjs' },
    bundle: true,
    packages: 'external',
    // No tsconfig paths: @galore-ts/* must stay imports of the built packages, not their sources.
    tsconfigRaw: '{}',
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'warning',
  });
  log(`compiled ${entryPoints.length} check scripts to scripts/gpu-check/dist`);
}

/** node_modules/<name> as Node would resolve it from `from` (walking up). */
function findPackage(name, from) {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dirname(dir) === dir) return null;
  }
}

/** Every package directory `names` need at run time: dependencies, optional and required peers. */
function dependencyClosure(names) {
  const seen = new Set();
  const missing = [];
  const visit = (dir) => {
    if (seen.has(dir)) return;
    seen.add(dir);
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    const peers = Object.keys(pkg.peerDependencies ?? {}).filter((n) => !pkg.peerDependenciesMeta?.[n]?.optional);
    for (const name of [
      ...Object.keys(pkg.dependencies ?? {}),
      ...Object.keys(pkg.optionalDependencies ?? {}),
      ...peers,
    ]) {
      if (name.startsWith('@galore-ts/')) continue;
      const found = findPackage(name, dir);
      if (found) visit(found);
      else if (!Object.hasOwn(pkg.optionalDependencies ?? {}, name)) missing.push(`${name} (for ${pkg.name})`);
    }
  };
  for (const name of names) {
    const found = findPackage(name, root);
    if (!found) throw new Error(`${name} is not installed here; run npm ci first`);
    visit(found);
  }
  if (missing.length > 0) throw new Error(`missing runtime dependencies: ${missing.join(', ')}`);
  // A nested node_modules inside an included package travels with it.
  const dirs = [...seen].sort();
  return dirs.filter((dir) => !dirs.some((other) => other !== dir && dir.startsWith(`${other}/`)));
}

/** The uncompressed size of a .gz file, as `gzip -l` reads it from the trailer. */
function gunzippedBytes(path) {
  const listed = spawnSync('gzip', ['-l', path], { encoding: 'utf8' });
  const size = Number(listed.stdout?.split('\n')[1]?.trim().split(/\s+/)[1]);
  return Number.isFinite(size) ? size : null;
}

async function sha256(path) {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk);
  return hash.digest('hex');
}

const mib = (bytes) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

/** Node and its headers, xz-compressed; reused when the same binary was packed at the same level. */
async function packNode(previous) {
  const exec = process.execPath;
  const stat = statSync(exec);
  const key = { version: process.version, execPath: exec, size: stat.size, mtimeMs: stat.mtimeMs, xzLevel };
  const archive = join(outDir, 'node-linux-x64.tar.xz');
  const same = previous?.node && Object.entries(key).every(([k, v]) => previous.node[k] === v);
  if (same && existsSync(archive) && statSync(archive).size === previous.node.archiveBytes) {
    log(`reusing ${relative(root, archive)} (Node ${process.version}, ${mib(previous.node.archiveBytes)})`);
    return previous.node;
  }
  const headers = join(dirname(dirname(exec)), 'include', 'node');
  if (!existsSync(join(headers, 'node_api.h')))
    throw new Error(`Node's headers (${headers}/node_api.h) are missing; the CUDA addon cannot be built without them`);
  const staging = join(tmpdir(), `gpu-pack-node-${process.pid}`);
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(join(staging, 'node', 'bin'), { recursive: true });
  mkdirSync(join(staging, 'node', 'include', 'node'), { recursive: true });
  cpSync(exec, join(staging, 'node', 'bin', 'node'));
  // The Node-API headers are the top-level ones; V8, libuv and OpenSSL (subfolders) are not needed.
  for (const name of readdirSync(headers).filter((n) => n.endsWith('.h')))
    cpSync(join(headers, name), join(staging, 'node', 'include', 'node', name));
  log(`compressing Node ${process.version} (${mib(stat.size)}) with xz -${xzLevel}`);
  const started = Date.now();
  run('bash', [
    '-c',
    `set -o pipefail; tar -C "$1" -cf - node | xz -T0 -${xzLevel} -c > "$2.tmp" && mv "$2.tmp" "$2"`,
    'pack-node',
    staging,
    archive,
  ]);
  rmSync(staging, { recursive: true, force: true });
  const archiveBytes = statSync(archive).size;
  log(`wrote ${relative(root, archive)}: ${mib(archiveBytes)} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  return { ...key, archiveBytes, binaryBytes: stat.size, sha256: await sha256(exec) };
}

/** What travels besides the pack: tracked and untracked-not-ignored files. */
function treeBytes() {
  const listed = spawnSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    cwd: root,
    encoding: 'utf8',
  });
  if (listed.status !== 0) return null;
  return listed.stdout
    .split('\0')
    .filter((path) => path && existsSync(join(root, path)))
    .reduce((sum, path) => sum + lstatSync(join(root, path)).size, 0);
}

async function main() {
  mkdirSync(outDir, { recursive: true });
  const manifestPath = join(outDir, 'manifest.json');
  const previous = existsSync(manifestPath) ? JSON.parse(readFileSync(manifestPath, 'utf8')) : null;

  ensureBuilt();
  await compileScripts();
  const node = await packNode(previous);

  const runtime = [
    ...new Set(
      PACKAGES.filter((pkg) => withWebgpu || pkg !== 'backend-webgpu').flatMap((pkg) =>
        Object.keys(JSON.parse(readFileSync(join(root, 'packages', pkg, 'package.json'), 'utf8')).dependencies ?? {}),
      ),
    ),
  ].filter((name) => !name.startsWith('@galore-ts/'));
  const modules = dependencyClosure([...runtime, ...TOOLS]).map((dir) => relative(root, dir));
  const links = PACKAGES.map((pkg) => `node_modules/@galore-ts/${pkg}`).filter((link) => existsSync(join(root, link)));
  const dists = PACKAGES.map((pkg) => `packages/${pkg}/dist`);
  const paths = [...dists, 'scripts/gpu-check/dist', ...links, ...modules];
  // Other platforms' dawn binaries stay behind (about 110 MiB of the package).
  const excludes = ['*.map', '*.d.ts', '*.d.mts', '*.d.cts'];
  for (const name of LAZY_UNUSED) excludes.push(`node_modules/${name}/*/*`);
  if (withWebgpu) {
    for (const name of readdirSync(join(root, 'node_modules', 'webgpu', 'dist')))
      if (name !== 'linux-x64') excludes.push(`node_modules/webgpu/dist/${name}`);
  }
  const app = join(outDir, 'app.tar.gz');
  const list = join(tmpdir(), `gpu-pack-list-${process.pid}`);
  writeFileSync(list, `${paths.join('\n')}\n`);
  run('tar', [...excludes.map((e) => `--exclude=${e}`), '-czf', `${app}.tmp`, '-T', list]);
  rmSync(list);
  run('mv', [`${app}.tmp`, app]);

  const appBytes = statSync(app).size;
  const tree = treeBytes();
  const packBytes = appBytes + node.archiveBytes;
  const commit = spawnSync('git', ['rev-parse', 'HEAD'], { cwd: root, encoding: 'utf8' }).stdout.trim() || null;
  const manifest = {
    schema: 'galore-ts/gpu-pack@1',
    created: new Date().toISOString(),
    commit,
    withWebgpu,
    node,
    app: {
      archiveBytes: appBytes,
      packages: PACKAGES,
      modules: modules.map((dir) => {
        const pkg = JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8'));
        return `${pkg.name}@${pkg.version}`;
      }),
      uncompressedBytes: gunzippedBytes(app),
    },
    travel: {
      treeBytes: tree,
      packBytes,
      totalBytes: tree === null ? null : tree + packBytes,
      limitBytes: TRAVEL_LIMIT,
    },
  };
  writeFileSync(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
  log(
    `wrote ${relative(root, outDir)}/: node ${mib(node.archiveBytes)}, app ${mib(appBytes)} (${modules.length} modules, ` +
      `${mib(manifest.app.uncompressedBytes)} unpacked); with the tree (${tree === null ? '?' : mib(tree)}) ` +
      `${manifest.travel.totalBytes === null ? '?' : mib(manifest.travel.totalBytes)} of ${mib(TRAVEL_LIMIT)} travels`,
  );
  if (manifest.travel.totalBytes !== null && manifest.travel.totalBytes > TRAVEL_LIMIT * 0.9) {
    throw new Error(`the pack and the tree (${mib(manifest.travel.totalBytes)}) come too close to the 64 MiB limit`);
  }
}

main().catch((error) => {
  console.error(`[gpu-check --pack] ${error.message}`);
  process.exit(1);
});
