/**
 * One recorded operation of the autograd tape. It holds its own references to the tensors its
 * backward needs (so the forward code may dispose them) and drops them as soon as backward ran.
 */
import type { Tensor } from '../tensor.js';

/**
 * The gradient already collected for input `i` from other paths, when a rule may add its own
 * contribution into it in place (the engine alone holds it, with the input's shape and dtype).
 * A rule that does returns that very tensor as input i's gradient; any other return is added to
 * it by the engine. Rules may ignore it.
 */
export type AccumulationTarget = (i: number) => Tensor | undefined;

export type BackwardFn = (
  grad: Tensor,
  saved: readonly Tensor[],
  into?: AccumulationTarget,
) => readonly (Tensor | null)[];

let nextNodeId = 0;

export class GradNode {
  readonly id = nextNodeId++;
  private saved: Tensor[] | null;
  /**
   * Live handles on this node: its output tensor (while not disposed) and every consumer node not
   * yet dropped. At zero nothing can run backward through the node any more, so its saved tensors
   * are released and its input nodes lose a handle in turn: a graph whose outputs are all disposed
   * without backward() frees its activations instead of leaking them.
   */
  private refs = 0;
  private dropped = false;

  constructor(
    /** Op name, for error messages. */
    readonly name: string,
    /** The op's inputs; gradients are produced for those that require grad. */
    readonly inputs: readonly Tensor[],
    saved: readonly Tensor[],
    private readonly backwardFn: BackwardFn,
  ) {
    this.saved = saved.map((t) => t.retain());
    for (const input of inputs) input.gradFn?.addRef();
  }

  /** @internal Called when a tensor or a consumer node starts pointing at this node. */
  addRef(): void {
    this.refs++;
  }

  /** @internal Called when one of those handles goes away (iterative: graphs may be very deep). */
  dropRef(): void {
    const stack: GradNode[] = [this];
    while (stack.length > 0) {
      const node = stack.pop()!;
      if (node.dropped || --node.refs > 0) continue;
      node.dropped = true;
      node.release();
      for (const input of node.inputs) if (input.gradFn) stack.push(input.gradFn);
    }
  }

  get released(): boolean {
    return this.saved === null;
  }

  /** Throws the error of running backward through a node whose saved tensors are gone. */
  assertNotReleased(): void {
    if (!this.saved) {
      throw new Error(
        `backward through '${this.name}' a second time: its saved tensors were already freed by an earlier backward() ` +
          '(pass { retainGraph: true } to the first backward to keep them)',
      );
    }
  }

  /** Computes the gradient of each input from the gradient of the output. */
  apply(grad: Tensor, into?: AccumulationTarget): readonly (Tensor | null)[] {
    this.assertNotReleased();
    const grads = this.backwardFn(grad, this.saved!, into);
    if (grads.length !== this.inputs.length) {
      throw new Error(
        `internal: '${this.name}' backward returned ${grads.length} gradients for ${this.inputs.length} inputs`,
      );
    }
    return grads;
  }

  /** Drops the saved tensors (their storage is freed when nothing else holds it). */
  release(): void {
    if (!this.saved) return;
    for (const t of this.saved) t.dispose();
    this.saved = null;
  }
}
