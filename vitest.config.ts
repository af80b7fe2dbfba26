import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (pkg: string) => fileURLToPath(new URL(`./packages/${pkg}/src/index.ts`, import.meta.url));

// Tests run on the TypeScript sources: workspace imports resolve to src/, so no build is needed.
export default defineConfig({
  resolve: {
    alias: {
      '@galore-ts/core': src('core'),
      '@galore-ts/galore': src('galore'),
      '@galore-ts/backend-webgpu': src('backend-webgpu'),
      '@galore-ts/backend-cuda': src('backend-cuda'),
      '@galore-ts/cli': src('cli'),
    },
  },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
