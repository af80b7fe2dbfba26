/**
 * Drives bench/torch_train_step.py: one Python process per model, stepped on request over its
 * stdin/stdout so that its steps alternate with ours. The step's time is measured inside Python
 * (wall and process CPU time, which counts torch's and OpenBLAS's threads).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createInterface, type Interface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { LlamaConfig } from '../packages/core/src/index.js';

export interface TorchInfo {
  torch: string;
  threads: number;
  openblas_threads: number | null;
  parameters: number;
}

export interface TorchTiming {
  loss: number;
  wallMs: number;
  cpuMs: number;
}

const SCRIPT = fileURLToPath(new URL('torch_train_step.py', import.meta.url));

/** The first Python that imports torch: $PYTHON, python3, then the system one (pyenv shims hide it). */
export function findTorchPython(): string | null {
  const candidates = [process.env.PYTHON, 'python3', '/usr/bin/python3'].filter((c): c is string => !!c);
  for (const python of candidates) {
    if (spawnSync(python, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0) return python;
  }
  return null;
}

export class TorchStepper {
  private constructor(
    private readonly child: ChildProcess,
    private readonly lines: AsyncIterator<string>,
    private readonly reader: Interface,
    readonly info: TorchInfo,
  ) {}

  static async start(python: string, config: LlamaConfig, batch: number, seq: number): Promise<TorchStepper> {
    const child = spawn(python, [SCRIPT, JSON.stringify({ ...config, batch, seq })], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const reader = createInterface({ input: child.stdout! });
    const lines = reader[Symbol.asyncIterator]();
    const first = await lines.next();
    if (first.done || !first.value.startsWith('ready ')) throw new Error(`${SCRIPT} did not start`);
    return new TorchStepper(child, lines, reader, JSON.parse(first.value.slice('ready '.length)));
  }

  async step(): Promise<TorchTiming> {
    this.child.stdin!.write('step\n');
    const line = await this.lines.next();
    if (line.done) throw new Error(`${SCRIPT} exited`);
    const { loss, wall_ms, cpu_ms } = JSON.parse(line.value);
    return { loss, wallMs: wall_ms, cpuMs: cpu_ms };
  }

  stop(): void {
    this.child.stdin!.end();
    this.reader.close();
  }
}
