/**
 * The README's library example must keep working: its first TypeScript block is run as written
 * (through tsx, as a user would run a copy of it) and must print a falling loss.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

it('the first TypeScript example of the README runs and its loss falls', async () => {
  const readme = await readFile(join(root, 'README.md'), 'utf8');
  const block = /```ts\n([\s\S]*?)```/.exec(readme)?.[1];
  expect(block, 'README.md has a ```ts block').toBeTruthy();
  // Inside the repository, so '@galore-ts/*' resolves as it does for the examples.
  const dir = await mkdtemp(join(root, 'test/readme/.run-'));
  try {
    const file = join(dir, 'example.ts');
    await writeFile(file, block!);
    const tsx = join(root, 'node_modules/.bin/tsx');
    const { stdout } = await promisify(execFile)(tsx, [file], { cwd: root, timeout: 120_000 });
    const losses = stdout
      .trim()
      .split('\n')
      .map((line) => Number(line.split(' ')[1]));
    expect(losses).toHaveLength(20);
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(losses[19]!).toBeLessThan(losses[0]! / 4);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}, 180_000);
