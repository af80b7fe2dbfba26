/**
 * The train-webgpu example runs as a user would copy it, on fewer steps. Without an adapter it
 * skips with the reason, unless GALORE_REQUIRE_WEBGPU=1 says one must be there.
 */
import { webgpuInfo } from '@galore-ts/backend-webgpu';
import { getBackend } from '@galore-ts/core';
import { expect, it } from 'vitest';
import { trainWebGPU } from '../../examples/train-webgpu.js';

it('examples/train-webgpu.ts trains llama_tiny on WebGPU and releases the device', async (context) => {
  const info = await webgpuInfo();
  if (!info.available) {
    if (process.env.GALORE_REQUIRE_WEBGPU === '1') throw new Error(`WebGPU required: ${info.reason}`);
    return context.skip(`WebGPU unavailable: ${info.reason}`);
  }
  const lines: string[] = [];
  const { adapter, losses, summary } = await trainWebGPU({ steps: 3, log: (line) => lines.push(line) });
  expect(adapter.description).toBe(info.description);
  expect(lines[0]).toBe(`WebGPU adapter: ${info.description || info.name} (${info.vendor || 'unknown vendor'})`);
  expect(summary).toMatchObject({ stopReason: 'completed', steps: 3, tokens: 3 * 8 * 64 });
  expect(losses).toHaveLength(3);
  // From about the uniform guess over 258 byte tokens (ln 258 = 5.55), downwards.
  expect(losses[0]).toBeLessThan(Math.log(258) + 0.5);
  expect(losses[2]).toBeLessThan(losses[0] as number);
  expect(lines.at(-1)).toMatch(/^done: 3 steps in \d+\.\d s, final loss \d\.\d{3}$/);
  // The device was released and unselected: new tensors go to the CPU backend again.
  expect(getBackend().name).toBe('cpu');
}, 120_000);
