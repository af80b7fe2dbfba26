/**
 * Reverse-mode traversal of the tape. Iterative (deep graphs would overflow a recursive sort);
 * nodes run newest first once every consumer has contributed its gradient, which is the order
 * that frees activations soonest. Saved tensors are released right after each node ran.
 */
import { keep, noGrad, tidy, withCategory } from '../engine.js';
import { contiguousStrides, formatShape, shapesEqual } from '../shape.js';
import type { Tensor } from '../tensor.js';
import type { AccumulationTarget, GradNode } from './node.js';

export interface BackwardOptions {
  /** Keep saved tensors so backward can run through the graph again. */
  retainGraph?: boolean;
}

/** Max-heap of nodes by creation order. */
class NodeHeap {
  private items: GradNode[] = [];
  get size(): number {
    return this.items.length;
  }
  push(n: GradNode): void {
    const a = this.items;
    a.push(n);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p]!.id >= a[i]!.id) break;
      [a[p], a[i]] = [a[i]!, a[p]!];
      i = p;
    }
  }
  pop(): GradNode {
    const a = this.items;
    const top = a[0]!;
    const last = a.pop()!;
    if (a.length > 0) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = i * 2 + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && a[l]!.id > a[m]!.id) m = l;
        if (r < a.length && a[r]!.id > a[m]!.id) m = r;
        if (m === i) break;
        [a[m], a[i]] = [a[i]!, a[m]!];
        i = m;
      }
    }
    return top;
  }
}

/** Counts, for each node and each leaf, how many graph edges lead into it. */
function countEdges(root: GradNode): { consumers: Map<GradNode, number>; leafEdges: Map<Tensor, number> } {
  const consumers = new Map<GradNode, number>();
  const leafEdges = new Map<Tensor, number>();
  const seen = new Set<GradNode>([root]);
  const stack = [root];
  while (stack.length > 0) {
    const node = stack.pop()!;
    // Fail before any work: a released node cannot run its rule.
    if (node.released) node.assertNotReleased();
    for (const input of node.inputs) {
      if (!input.requiresGrad) continue;
      const fn = input.gradFn;
      if (fn) {
        consumers.set(fn, (consumers.get(fn) ?? 0) + 1);
        if (!seen.has(fn)) {
          seen.add(fn);
          stack.push(fn);
        }
      } else {
        leafEdges.set(input, (leafEdges.get(input) ?? 0) + 1);
      }
    }
  }
  return { consumers, leafEdges };
}

/**
 * into + grad, consuming both (`into` is a pending gradient or a leaf's .grad, which the sum
 * replaces). When no other tensor shares `into`'s storage the sum is written into it in place: no
 * new tensor, no allocation. Otherwise a new tensor, as `into.add(grad)`.
 */
function accumulate(into: Tensor | undefined, grad: Tensor): Tensor {
  if (!into) return grad;
  if (into.ownsStorageAlone && into.dtype === grad.dtype && into.backend === grad.backend) {
    addInPlace(into, grad);
    grad.dispose();
    return into;
  }
  const sum = into.add(grad);
  into.dispose();
  grad.dispose();
  return sum;
}

/** into += grad (same shape and dtype), with the binary kernel writing its first operand. */
function addInPlace(into: Tensor, grad: Tensor): void {
  const strides = contiguousStrides(into.shape);
  into.backend.run(
    'binary',
    { a: into.storage, b: grad.storage, out: into.storage },
    { op: 'add', shape: into.shape, aStrides: strides, bStrides: strides },
  );
}

function checkGradShape(node: GradNode, input: Tensor, grad: Tensor): void {
  if (!shapesEqual(grad.shape, input.shape)) {
    throw new Error(
      `internal: '${node.name}' backward produced a gradient of shape ${formatShape(grad.shape)} for an input of shape ${formatShape(input.shape)}`,
    );
  }
}

/**
 * Adds `grad` to the leaf's gradient, in place when no other tensor shares its storage (as
 * PyTorch accumulates into .grad; the out-of-place sum disposed the previous .grad anyway).
 */
function accumulateLeaf(leaf: Tensor, grad: Tensor): void {
  const cast = grad.dtype === leaf.dtype ? grad : grad.to(leaf.dtype);
  if (cast !== grad) grad.dispose();
  const previous = leaf.grad ?? undefined;
  const next = accumulate(previous, cast);
  if (next === previous) return;
  next.backend.retag(next.storage, 'gradient');
  leaf.grad = keep(next);
}

export function runBackward(root: Tensor, seed: Tensor, options: BackwardOptions = {}): void {
  const rootNode = root.gradFn;
  if (!rootNode) {
    // A leaf: its gradient is the seed itself.
    accumulateLeaf(root, seed);
    root.fireGradReady();
    return;
  }
  let counts: ReturnType<typeof countEdges>;
  try {
    counts = countEdges(rootNode);
  } catch (err) {
    seed.dispose();
    throw err;
  }
  const { consumers, leafEdges } = counts;
  const pending = new Map<GradNode, Tensor>([[rootNode, seed]]);
  const ready = new NodeHeap();
  ready.push(rootNode);

  /** The pending gradient a rule of `current` may add into (see AccumulationTarget). */
  let current: GradNode = rootNode;
  const into: AccumulationTarget = (i) => {
    const input = current.inputs[i];
    const fn = input?.requiresGrad ? input.gradFn : null;
    const target = fn ? pending.get(fn) : undefined;
    return target?.ownsStorageAlone && target.dtype === input!.dtype ? target : undefined;
  };

  noGrad(() =>
    withCategory('activation', () => {
      try {
        drain();
      } catch (err) {
        // A failing rule or hook: free the gradients still in flight so nothing leaks.
        for (const g of pending.values()) g.dispose();
        pending.clear();
        throw err;
      }
    }),
  );

  function drain(): void {
    while (ready.size > 0) {
      const node = ready.pop();
      current = node;
      const grad = pending.get(node);
      pending.delete(node);
      // tidy frees the temporaries of the rule; the gradients it returns survive.
      let inputGrads: (Tensor | null)[];
      try {
        inputGrads = grad ? [...tidy(() => node.apply(grad, into))] : node.inputs.map(() => null);
      } finally {
        grad?.dispose();
      }
      if (!options.retainGraph) node.release();
      try {
        for (let i = 0; i < node.inputs.length; i++) {
          const g = inputGrads[i] ?? null;
          inputGrads[i] = null;
          route(node, node.inputs[i]!, g);
        }
      } catch (err) {
        for (const g of inputGrads) g?.dispose();
        throw err;
      }
    }
  }

  /** Hands input's gradient `g` (from `node`'s rule) to its producer's pending sum or to the leaf. */
  function route(node: GradNode, input: Tensor, g: Tensor | null): void {
    if (!input.requiresGrad) {
      g?.dispose();
      return;
    }
    if (g) checkGradShape(node, input, g);
    const fn = input.gradFn;
    if (fn) {
      // A rule that added into the pending gradient in place hands it back (see AccumulationTarget).
      const sum = pending.get(fn);
      if (g && g !== sum) pending.set(fn, accumulate(sum, g));
      const left = consumers.get(fn)! - 1;
      consumers.set(fn, left);
      if (left === 0) ready.push(fn);
    } else {
      if (g) accumulateLeaf(input, g);
      const left = leafEdges.get(input)! - 1;
      leafEdges.set(input, left);
      if (left === 0) input.fireGradReady();
    }
  }
}
