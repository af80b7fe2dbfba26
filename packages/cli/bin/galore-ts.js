#!/usr/bin/env node
// The `galore-ts` executable. In a source checkout (src/ is present) it runs the TypeScript sources
// through tsx, resolving @galore-ts/* to the sibling packages' sources with the repository's
// tsconfig paths, so `npm ci && npx galore-ts train` works with no build step and never runs a
// stale build. An installed package ships only dist/, which it runs as plain JavaScript.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const source = new URL('../src/bin.ts', import.meta.url);
if (existsSync(fileURLToPath(source))) {
  const tsconfig = fileURLToPath(new URL('../../../tsconfig.json', import.meta.url));
  const { register } = await import('tsx/esm/api');
  register(existsSync(tsconfig) ? { tsconfig } : {});
  await import(source.href);
} else {
  await import(new URL('../dist/bin.js', import.meta.url).href);
}
