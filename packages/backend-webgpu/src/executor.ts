/**
 * Records kernels into one command encoder and submits them in batches. Nothing waits for the GPU
 * unless a value is read. Also owns: the pipeline cache (keyed by WGSL source), the per-batch
 * uniform arena that holds every dispatch's parameters, uploads through staging buffers recorded
 * in order with the kernels, host steps that must run between GPU steps (the host SVD), and the
 * errors the device reports asynchronously (lost device, out of memory, validation), which are
 * turned into exceptions at the next call instead of a hang.
 */
import { BUFFER_USAGE } from './buffer-pool.js';

/** A buffer range a dispatch binds, in bytes. */
export interface Binding {
  buffer: GPUBuffer;
  offset: number;
  size: number;
}

export interface Kernel {
  name: string;
  pipeline: GPUComputePipeline;
  layout: GPUBindGroupLayout;
}

/** What each binding of a kernel is, in binding order. */
export type BindingKind = 'uniform' | 'read' | 'write';

const ARENA_BYTES = 64 * 1024;
const PARAM_SLOT = 256; // the largest minUniformBufferOffsetAlignment WebGPU allows
const MAX_PENDING_UPLOAD_BYTES = 64 * 1024 * 1024;
const MAX_CACHED_BIND_GROUPS = 4096;

export function alignUp(n: number, to: number): number {
  return Math.ceil(n / to) * to;
}

export class Executor {
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private readonly pipelines = new Map<string, Kernel>();
  private readonly byKey = new Map<string, Kernel>();
  /**
   * One uniform buffer holds the parameters of every dispatch of a batch, written just before the
   * batch is submitted. Reusing it across batches is safe: queue writes and submits run in order.
   */
  private readonly arena: GPUBuffer;
  private readonly arenaData = new ArrayBuffer(ARENA_BYTES);
  private arenaUsed = 0;
  /** Bind groups by kernel and buffer ranges: creating one is the costliest part of a dispatch. */
  private readonly bindGroups = new Map<string, GPUBindGroup>();
  private readonly bufferIds = new WeakMap<GPUBuffer, number>();
  private nextBufferId = 1;
  private readonly kernelIds = new WeakMap<Kernel, number>();
  /** Buffers this batch needs until the GPU has run it (staging).*/
  private batchBuffers: GPUBuffer[] = [];
  private pendingUploadBytes = 0;
  private failure: Error | null = null;
  private primaryFailure = false;
  private readonly scopes = new Set<Promise<unknown>>();
  private lostReason: string | null = null;
  private readonly lostSignal: Promise<never>;
  /** While a host step runs, later steps wait here in order. */
  private blocked = false;
  private readonly backlog: Array<() => void> = [];
  private dispatchCount = 0;
  private kernelCount = 0;
  private submitCount = 0;

  constructor(readonly device: GPUDevice) {
    this.arena = device.createBuffer({ size: ARENA_BYTES, usage: BUFFER_USAGE.UNIFORM | BUFFER_USAGE.COPY_DST });
    this.lostSignal = device.lost.then((info) => {
      this.lostReason = `${info.reason ?? 'unknown'}: ${info.message}`;
      throw this.lostError();
    });
    this.lostSignal.catch(() => {}); // observed by readers; never an unhandled rejection
    device.addEventListener('uncapturederror', (event) => {
      const error = (event as GPUUncapturedErrorEvent).error;
      this.fail(new Error(`WebGPU error: ${error.message}`));
    });
  }

  get stats(): { dispatches: number; submits: number; pipelines: number } {
    return { dispatches: this.dispatchCount, submits: this.submitCount, pipelines: this.pipelines.size };
  }

  /**
   * Records the first asynchronous failure; later calls throw it. A root cause (`primary`, such as
   * a shader compile error) replaces the follow-up errors it caused.
   */
  fail(error: Error, primary = false): void {
    if (!this.failure || (primary && !this.primaryFailure)) {
      this.failure = error;
      this.primaryFailure = primary;
    }
  }

  /** Keeps an error-scope check pending until the next wait, so its error is not missed. */
  watch(check: Promise<unknown>): void {
    const tracked = check.catch(() => {}).finally(() => this.scopes.delete(tracked));
    this.scopes.add(tracked);
  }

  private async settleScopes(): Promise<void> {
    while (this.scopes.size > 0) await Promise.all([...this.scopes]);
  }

  /** Throws the lost-device or recorded error, if any. */
  check(): void {
    if (this.lostReason !== null) throw this.lostError();
    if (this.failure) throw this.failure;
  }

  private lostError(): Error {
    return new Error(`WebGPU device lost (${this.lostReason}); create a new backend`);
  }

  /**
   * The kernel cached under `key`; `build` (code generation) runs only the first time, so the
   * per-call cost of a kernel is a map lookup instead of building its WGSL text.
   */
  cachedKernel(key: string, build: () => { name: string; code: string; kinds: readonly BindingKind[] }): Kernel {
    const cached = this.byKey.get(key);
    if (cached) return cached;
    const { name, code, kinds } = build();
    const kernel = this.kernel(name, code, kinds);
    this.byKey.set(key, kernel);
    return kernel;
  }

  /** The compiled pipeline for a WGSL source, compiled once per source text. */
  kernel(name: string, code: string, kinds: readonly BindingKind[]): Kernel {
    const key = `${kinds.join(',')}\n${code}`;
    const cached = this.pipelines.get(key);
    if (cached) return cached;
    this.device.pushErrorScope('validation');
    const module = this.device.createShaderModule({ code, label: name });
    // An explicit layout keeps bindings the shader happens not to use (a layout: 'auto' drops them).
    const layout = this.device.createBindGroupLayout({
      label: name,
      entries: kinds.map((kind, binding) => ({
        binding,
        visibility: 0x4, // GPUShaderStage.COMPUTE
        buffer:
          kind === 'uniform'
            ? { type: 'uniform' as const, hasDynamicOffset: true }
            : { type: kind === 'read' ? ('read-only-storage' as const) : ('storage' as const) },
      })),
    });
    const pipeline = this.device.createComputePipeline({
      label: name,
      layout: this.device.createPipelineLayout({ bindGroupLayouts: [layout] }),
      compute: { module, entryPoint: 'main' },
    });
    this.watch(
      this.device.popErrorScope().then(async (error) => {
        if (!error) return;
        const info = await module.getCompilationInfo();
        const messages = info.messages
          .map((m) => `${m.type} at line ${m.lineNum}:${m.linePos}: ${m.message}`)
          .join('\n');
        const numbered = code
          .split('\n')
          .map((line, i) => `${String(i + 1).padStart(4)} ${line}`)
          .join('\n');
        this.fail(
          new Error(`WebGPU backend: kernel ${name} failed to compile: ${error.message}\n${messages}\n${numbered}`),
          true,
        );
      }),
    );
    const kernel = { name, pipeline, layout };
    this.pipelines.set(key, kernel);
    return kernel;
  }

  /** Runs `step` now, or after the host step in progress and everything queued behind it. */
  run(step: () => void): void {
    if (this.blocked) this.backlog.push(step);
    else step();
  }

  /**
   * Runs an asynchronous host step in stream order: work recorded before it is submitted first, and
   * work recorded after it is held back until it finishes. `task` may read and upload directly.
   */
  hostStep(task: () => Promise<void>): void {
    this.run(() => {
      this.blocked = true;
      this.flush();
      task()
        .catch((error: Error) => this.fail(error))
        .finally(() => {
          this.blocked = false;
          while (!this.blocked && this.backlog.length > 0) {
            const step = this.backlog.shift() as () => void;
            try {
              step();
            } catch (error) {
              this.fail(error as Error); // a deferred call has no caller left to throw to
            }
          }
        });
    });
  }

  /** A promise resolved with `read()`'s result once every earlier step has been recorded. */
  inOrder<T>(read: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.run(() => {
        read().then(resolve, reject);
      });
    });
  }

  private currentEncoder(): GPUCommandEncoder {
    if (!this.encoder) this.encoder = this.device.createCommandEncoder();
    return this.encoder;
  }

  private endPass(): void {
    if (this.pass) {
      this.pass.end();
      this.pass = null;
    }
  }

  /** Writes a dispatch's parameters into the arena; returns their dynamic offset. */
  private params(words: ArrayBuffer): number {
    if (words.byteLength > PARAM_SLOT)
      throw new Error(`internal: kernel parameters take ${words.byteLength} bytes; at most ${PARAM_SLOT}`);
    if (this.arenaUsed + PARAM_SLOT > ARENA_BYTES) this.flush();
    new Uint8Array(this.arenaData, this.arenaUsed, words.byteLength).set(new Uint8Array(words));
    const offset = this.arenaUsed;
    this.arenaUsed += PARAM_SLOT;
    return offset;
  }

  private idOf(buffer: GPUBuffer): number {
    let id = this.bufferIds.get(buffer);
    if (id === undefined) {
      id = this.nextBufferId++;
      this.bufferIds.set(buffer, id);
    }
    return id;
  }

  /** The bind group of `kernel` over these ranges (parameters, if any, at a dynamic offset). */
  private bindGroup(kernel: Kernel, bindings: readonly Binding[], withParams: boolean): GPUBindGroup {
    let kernelId = this.kernelIds.get(kernel);
    if (kernelId === undefined) {
      kernelId = ++this.kernelCount;
      this.kernelIds.set(kernel, kernelId);
    }
    let key = `${kernelId}`;
    for (const b of bindings) key += `|${this.idOf(b.buffer)}:${b.offset}:${b.size}`;
    const cached = this.bindGroups.get(key);
    if (cached) return cached;
    const entries: GPUBindGroupEntry[] = [];
    if (withParams) entries.push({ binding: 0, resource: { buffer: this.arena, offset: 0, size: PARAM_SLOT } });
    const base = withParams ? 1 : 0;
    bindings.forEach((b, i) => {
      entries.push({ binding: base + i, resource: { buffer: b.buffer, offset: b.offset, size: b.size } });
    });
    const group = this.device.createBindGroup({ layout: kernel.layout, entries });
    if (this.bindGroups.size >= MAX_CACHED_BIND_GROUPS) this.bindGroups.clear(); // simple bound; refills fast
    this.bindGroups.set(key, group);
    return group;
  }

  /**
   * Records one dispatch. Binding 0 is the parameter block when `params` is given, then `bindings`
   * in order from binding 1 (or 0 without parameters). `groups` is [x, y(, z)] workgroups.
   */
  dispatch(kernel: Kernel, bindings: readonly Binding[], params: ArrayBuffer | null, groups: readonly number[]): void {
    if (groups.some((g) => g === 0)) return;
    const offset = params ? this.params(params) : null;
    const bindGroup = this.bindGroup(kernel, bindings, params !== null);
    if (!this.pass) this.pass = this.currentEncoder().beginComputePass();
    this.pass.setPipeline(kernel.pipeline);
    if (offset === null) this.pass.setBindGroup(0, bindGroup);
    else this.pass.setBindGroup(0, bindGroup, [offset]);
    this.pass.dispatchWorkgroups(groups[0] as number, groups[1] ?? 1, groups[2] ?? 1);
    this.dispatchCount++;
  }

  /** Records an upload of `data` into `buffer` at byte 0, ordered with the kernels around it. */
  upload(buffer: GPUBuffer, data: ArrayBufferView): void {
    const size = alignUp(data.byteLength, 4);
    if (size === 0) return;
    const staging = this.device.createBuffer({
      size,
      usage: BUFFER_USAGE.COPY_SRC | BUFFER_USAGE.MAP_WRITE,
      mappedAtCreation: true,
    });
    new Uint8Array(staging.getMappedRange()).set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    staging.unmap();
    this.endPass();
    this.currentEncoder().copyBufferToBuffer(staging, 0, buffer, 0, size);
    this.batchBuffers.push(staging);
    this.pendingUploadBytes += size;
    if (this.pendingUploadBytes > MAX_PENDING_UPLOAD_BYTES) this.flush();
  }

  /** Records a buffer-to-buffer copy (sizes and offsets in bytes, multiples of 4). */
  copyBuffer(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, size: number): void {
    if (size === 0) return;
    this.endPass();
    this.currentEncoder().copyBufferToBuffer(src, srcOffset, dst, dstOffset, size);
  }

  /** Records a zero fill (offset and size multiples of 4). */
  clear(buffer: GPUBuffer, offset: number, size: number): void {
    if (size === 0) return;
    this.endPass();
    this.currentEncoder().clearBuffer(buffer, offset, size);
  }

  /** Submits everything recorded so far as one command buffer. */
  flush(): void {
    this.endPass();
    if (!this.encoder) return;
    if (this.arenaUsed > 0) {
      this.device.queue.writeBuffer(this.arena, 0, this.arenaData, 0, this.arenaUsed);
      this.arenaUsed = 0;
    }
    const commands = this.encoder.finish();
    this.encoder = null;
    this.device.queue.submit([commands]);
    this.submitCount++;
    this.pendingUploadBytes = 0;
    const done = this.batchBuffers;
    this.batchBuffers = [];
    if (done.length > 0) this.afterQueue(() => this.recycle(done));
  }

  private recycle(buffers: GPUBuffer[]): void {
    for (const buffer of buffers) {
      buffer.destroy();
    }
  }

  /** Runs `fn` once the GPU has finished everything submitted so far. */
  afterQueue(fn: () => void): void {
    this.device.queue.onSubmittedWorkDone().then(fn, () => {});
  }

  /** Destroys buffers after the queue's submitted work that may still use them is done. */
  destroyWhenIdle(buffers: GPUBuffer[]): void {
    this.flush();
    this.afterQueue(() => {
      for (const b of buffers) b.destroy();
    });
  }

  /** Submits pending work and waits for the GPU; throws a device error instead of hanging. */
  async drain(): Promise<void> {
    this.check();
    this.flush();
    await Promise.race([this.device.queue.onSubmittedWorkDone(), this.lostSignal]);
    await this.settleScopes();
    this.check();
  }

  /** Copies `byteLength` bytes from `buffer` (at byte `offset`) to the host. Call in stream order. */
  async download(buffer: GPUBuffer, offset: number, byteLength: number): Promise<ArrayBuffer> {
    this.check();
    const size = alignUp(Math.max(byteLength, 4), 4);
    const staging = this.device.createBuffer({ size, usage: BUFFER_USAGE.MAP_READ | BUFFER_USAGE.COPY_DST });
    this.copyBuffer(buffer, offset, staging, 0, size);
    this.flush();
    try {
      await Promise.race([staging.mapAsync(0x1), this.lostSignal]);
      const bytes = staging.getMappedRange().slice(0, byteLength);
      staging.unmap();
      await this.settleScopes();
      this.check();
      return bytes;
    } finally {
      staging.destroy();
    }
  }

  /** Waits for all work and releases the device. */
  async destroy(): Promise<void> {
    try {
      if (this.lostReason === null) await this.drain();
    } catch {
      // the device is going away; errors were reported to the calls that saw them
    } finally {
      this.bindGroups.clear();
      this.arena.destroy();
      this.device.destroy();
    }
  }
}
