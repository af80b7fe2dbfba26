/** Files the cli package ships, found from this module whether it runs from src/ or dist/. */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findPackageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (
      existsSync(manifest) &&
      (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === '@galore-ts/cli'
    ) {
      return dir;
    }
    const parent = dirname(dir);
    if (parent === dir)
      throw new Error('galore-ts: cannot find the @galore-ts/cli package folder above its own module');
    dir = parent;
  }
}

export const PACKAGE_ROOT = findPackageRoot();

/** The corpus a run trains on when no --data is given. */
export const DEFAULT_CORPUS = join(PACKAGE_ROOT, 'corpus', 'tinyshakespeare-excerpt.txt');

export function packageVersion(): string {
  return (JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
}
