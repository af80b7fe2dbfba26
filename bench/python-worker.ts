/**
 * A Python peer benchmark (bench/torch_*.py) in its own process, driven one request at a time over
 * stdin/stdout, so that its runs alternate with ours in one benchmark. The script prints one
 * `ready <json>` line, then answers each request line with one JSON line.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createInterface, type Interface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** The first Python that imports torch: $PYTHON, python3, then the system one (pyenv shims hide it). */
export function findTorchPython(): string | null {
  if (process.env.TORCH === '0') return null;
  const candidates = [process.env.PYTHON, 'python3', '/usr/bin/python3'].filter((c): c is string => !!c);
  for (const python of candidates) {
    if (spawnSync(python, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0) return python;
  }
  return null;
}

/** What the torch scripts report when ready. */
export interface TorchInfo {
  torch: string;
  threads: number;
  openblas_threads: number | null;
}

export class PythonWorker<Info> {
  private constructor(
    private readonly child: ChildProcess,
    private readonly reader: Interface,
    private readonly lines: AsyncIterator<string>,
    readonly script: string,
    readonly info: Info,
  ) {}

  /** Starts bench/<script> with `args` and waits for its `ready` line. */
  static async start<Info>(python: string, script: string, args: string[]): Promise<PythonWorker<Info>> {
    const path = fileURLToPath(new URL(script, import.meta.url));
    const child = spawn(python, [path, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
    const reader = createInterface({ input: child.stdout! });
    const lines = reader[Symbol.asyncIterator]();
    const first = await lines.next();
    if (first.done || !first.value.startsWith('ready ')) throw new Error(`${script} did not start`);
    return new PythonWorker<Info>(child, reader, lines, script, JSON.parse(first.value.slice('ready '.length)));
  }

  async request<Reply>(command: string): Promise<Reply> {
    this.child.stdin!.write(`${command}\n`);
    const line = await this.lines.next();
    if (line.done) throw new Error(`${this.script} exited`);
    return JSON.parse(line.value) as Reply;
  }

  stop(): void {
    this.child.stdin!.end();
    this.reader.close();
  }
}

export function describeTorch(info: TorchInfo): string {
  return `PyTorch ${info.torch}: ${info.threads} intra-op threads, OpenBLAS ${info.openblas_threads ?? '?'} threads`;
}
