/**
 * The float32 cross-entropy kernels (fast exp, one exponential per element in the backward pass)
 * against float64 formulas at the conformance suite's tolerances, on a vocabulary-sized row.
 */
import { describe, it } from 'vitest';
import { backend, empty, expectClose, randomValues, storage, values } from './helpers.js';

const [ROWS, COLS, IGNORE] = [37, 258, -100];

function inputs() {
  const x = randomValues(ROWS * COLS, 11, 8).map(Math.fround);
  const targets = Array.from({ length: ROWS }, (_, r) => (r % 5 === 4 ? IGNORE : (r * 97) % COLS));
  const dloss = randomValues(ROWS, 12).map(Math.fround);
  return { x, targets, dloss };
}

/** Per row: max + log(sum(exp(x - max))) - x[target], and dloss (softmax(x) - onehot(target)), in float64. */
function reference(x: number[], targets: number[], dloss: number[]) {
  const loss: number[] = [];
  const dx: number[] = [];
  for (let r = 0; r < ROWS; r++) {
    const row = x.slice(r * COLS, (r + 1) * COLS);
    const target = targets[r] as number;
    if (target === IGNORE) {
      loss.push(0);
      dx.push(...row.map(() => 0));
      continue;
    }
    const max = Math.max(...row);
    const sum = row.reduce((s, v) => s + Math.exp(v - max), 0);
    loss.push(max + Math.log(sum) - (row[target] as number));
    dx.push(...row.map((v, j) => (dloss[r] as number) * (Math.exp(v - max) / sum - (j === target ? 1 : 0))));
  }
  return { loss, dx };
}

describe('float32 cross-entropy', () => {
  it('forward and backward match float64 formulas, ignored rows giving zeros', () => {
    const { x, targets, dloss } = inputs();
    const want = reference(x, targets, dloss);
    const logits = storage('float32', x);
    const t = storage('int32', targets);
    const loss = empty('float32', ROWS);
    backend.run('crossEntropy', { logits, targets: t, loss }, { rows: ROWS, cols: COLS, ignoreIndex: IGNORE });
    expectClose(values(loss), want.loss, 1e-5, 1e-5);
    const dx = empty('float32', ROWS * COLS);
    backend.run(
      'crossEntropyBackward',
      { logits, targets: t, dloss: storage('float32', dloss), dx },
      { rows: ROWS, cols: COLS, ignoreIndex: IGNORE },
    );
    expectClose(values(dx), want.dx, 2e-6, 1e-5);
  });
});
