/**
 * One build for the whole monorepo: each package's src/index.ts (and the cli's bin.ts once it
 * exists) becomes ESM + .d.ts in that package's own dist/. Run from the root with `npm run build`.
 */
import { existsSync } from 'node:fs';
import { defineConfig, type Options } from 'tsup';

const PACKAGES = ['core', 'galore', 'backend-webgpu', 'backend-cuda', 'cli'] as const;

/** Extra entries beyond src/index.ts, added only when their source file exists. */
const EXTRA_ENTRIES: Partial<Record<(typeof PACKAGES)[number], Record<string, string>>> = {
  cli: { bin: 'packages/cli/src/bin.ts' },
};

function entriesOf(pkg: (typeof PACKAGES)[number]): Record<string, string> {
  const entries: Record<string, string> = { index: `packages/${pkg}/src/index.ts` };
  for (const [name, file] of Object.entries(EXTRA_ENTRIES[pkg] ?? {})) {
    if (existsSync(file)) entries[name] = file;
  }
  return entries;
}

/** Declaration-file banners: ambient types a package's public .d.ts relies on. */
const DTS_BANNERS: Partial<Record<(typeof PACKAGES)[number], string>> = {
  // GPUDevice and friends are globals declared by @webgpu/types (a dependency of the package).
  'backend-webgpu': '/// <reference types="@webgpu/types" />',
};

function packageConfig(pkg: (typeof PACKAGES)[number]): Options {
  return {
    name: pkg,
    entry: entriesOf(pkg),
    outDir: `packages/${pkg}/dist`,
    format: ['esm'],
    target: 'node20',
    platform: 'node',
    sourcemap: true,
    clean: true,
    // A library leaves every bare import to the installer: its own dependencies (npm packages or
    // sibling @galore-ts packages) resolve at run time, and `check:pack` catches an undeclared one.
    skipNodeModulesBundle: true,
    external: [/^@galore-ts\//],
    tsconfig: 'tsconfig.build.json',
    dts: {
      banner: DTS_BANNERS[pkg],
      // Sibling packages' types come from their sources, so the packages' .d.ts builds, which
      // run in parallel, never wait for one another's dist/; the imports stay `@galore-ts/...`.
      compilerOptions: {
        baseUrl: '.',
        paths: { '@galore-ts/*': ['packages/*/src/index.ts'] },
      },
    },
  };
}

const missing = PACKAGES.filter((pkg) => !existsSync(`packages/${pkg}/src/index.ts`));
if (missing.length > 0) {
  throw new Error(`tsup.config.ts: every package needs src/index.ts; missing in ${missing.join(', ')}`);
}

export default defineConfig(PACKAGES.map(packageConfig));
