/**
 * Shared by the GPU check's Node scripts (compiled by `gpu-check.sh --pack` to
 * scripts/gpu-check/dist/*.mjs, which import the packages' built dist/ through node_modules).
 * Each script writes one JSON result file, rewritten after every phase, so that a step stopped by
 * its timeout still leaves what it had measured.
 */
import { writeFileSync } from 'node:fs';
import type { Backend, MemorySnapshot } from '@galore-ts/core';

export type Args = Record<string, string>;

/** `--key value` pairs; a flag with no value reads as "true". */
export function parseArgs(argv: readonly string[]): Args {
  const args: Args = {};
  for (let i = 0; i < argv.length; i++) {
    const key = argv[i] as string;
    if (!key.startsWith('--')) throw new Error(`unexpected argument '${key}'`);
    const next = argv[i + 1];
    if (next === undefined || next.startsWith('--')) args[key.slice(2)] = 'true';
    else {
      args[key.slice(2)] = next;
      i++;
    }
  }
  return args;
}

export function intArg(args: Args, key: string, fallback: number): number {
  const value = args[key] === undefined ? fallback : Number(args[key]);
  if (!Number.isInteger(value) || value < 0) throw new RangeError(`--${key} must be a non-negative integer`);
  return value;
}

/** A JSON result written to `path` (when given) after every change. */
export class Result {
  readonly data: Record<string, unknown>;

  constructor(
    private readonly path: string | undefined,
    initial: Record<string, unknown>,
  ) {
    this.data = { ...initial, complete: false };
    this.write();
  }

  set(key: string, value: unknown): void {
    this.data[key] = value;
    this.write();
  }

  finish(): void {
    this.set('complete', true);
  }

  private write(): void {
    if (this.path) writeFileSync(this.path, `${JSON.stringify(this.data, null, 2)}\n`);
  }
}

/**
 * The GaLore paper's figures for the steps the check measures (arXiv 2403.03507), by preset and
 * optimizer: Table 11 (LLaMA 1B on an A100) and Fig. 1 / Section 5 (LLaMA 7B), 256 tokens each.
 */
export const PAPER: Readonly<
  Record<string, Record<string, { label: string; tokensPerSecond?: number; totalGB?: number }>>
> = {
  llama_1b: {
    galore_adamw_8bit_layerwise: {
      label: 'Table 11 (A100): 8-bit GaLore per-layer',
      tokensPerSecond: 1019.63,
      totalGB: 5.63,
    },
  },
  llama_7b: {
    galore_adamw_8bit_layerwise: { label: 'Fig. 1: 8-bit GaLore per-layer', totalGB: 22.0 },
    adamw: { label: 'Fig. 1: BF16 AdamW', totalGB: 58 },
  },
};

/** The training steps gpu-check.sh measures (its step ids, with the same model, optimizer and rank). */
export const TRAINING_STEPS = [
  { id: 'bench-1b-adamw', model: 'llama_1b', optimizer: 'adamw', rank: 512 },
  { id: 'bench-1b-adamw-8bit', model: 'llama_1b', optimizer: 'adamw_8bit', rank: 512 },
  { id: 'bench-1b-galore-8bit', model: 'llama_1b', optimizer: 'galore_adamw_8bit', rank: 512 },
  { id: 'bench-1b-galore-8bit-layerwise', model: 'llama_1b', optimizer: 'galore_adamw_8bit_layerwise', rank: 512 },
  { id: 'bench-7b-galore-8bit-layerwise', model: 'llama_7b', optimizer: 'galore_adamw_8bit_layerwise', rank: 1024 },
] as const;

/** The optimizer options of a measured step and of its plan (the GaLore ones only for GaLore). */
export function optimizerOptions(optimizer: string, rank: number, svd: 'exact' | 'randomized' = 'exact') {
  return { lr: 1e-4, ...(optimizer.startsWith('galore') ? { rank, updateProjGap: 200, svd } : {}) };
}

export const GB = 1e9;
export const round = (value: number, digits = 3): number => Number(value.toFixed(digits));
export const gigabytes = (bytes: number): number => round(bytes / GB);

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** The CUDA backend's allocator figures, when the backend has them. */
interface AllocatorStats {
  allocated: number;
  cached: number;
  reserved: number;
  peakReserved: number;
  cudaMallocs: number;
}

function allocatorStats(backend: Backend): AllocatorStats | null {
  const withStats = backend as Backend & { memoryStats?: () => AllocatorStats };
  return typeof withStats.memoryStats === 'function' ? withStats.memoryStats() : null;
}

/** The tracker's peak (with its breakdown) and the allocator's view, in GB. */
export function memoryReport(backend: Backend, snapshot: MemorySnapshot = backend.tracker.snapshot()) {
  const allocator = allocatorStats(backend);
  return {
    trackerPeakGB: gigabytes(snapshot.totalPeak),
    trackerLiveGB: gigabytes(snapshot.totalLive),
    atPeakGB: Object.fromEntries(Object.entries(snapshot.atPeak).map(([k, v]) => [k, gigabytes(v)])),
    allocator:
      allocator === null
        ? null
        : {
            allocatedGB: gigabytes(allocator.allocated),
            cachedGB: gigabytes(allocator.cached),
            reservedGB: gigabytes(allocator.reserved),
            peakReservedGB: gigabytes(allocator.peakReserved),
            cudaMallocs: allocator.cudaMallocs,
          },
  };
}

/** The backend's own description (device name, libraries) where it has one. */
export function describeBackend(backend: Backend): unknown {
  const withDevice = backend as Backend & { device?: unknown };
  return { name: backend.name, device: withDevice.device ?? null };
}

/** Runs `main`, prints the error and exits 1 on failure (after the result recorded it). */
export function runMain(main: () => Promise<void>, result: () => Result | undefined): void {
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
      result()?.set('error', message);
      console.error(message);
      process.exit(1);
    },
  );
}
