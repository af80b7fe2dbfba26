/**
 * The meta-backend plan (planMemory: real training steps that count every byte and allocate none)
 * of each training step the check measures, with the same model, optimizer, rank and tokens. Needs
 * no GPU, so it runs in the dry run too.
 *
 *   node scripts/gpu-check/dist/plan.mjs --out r.json
 */
import { planMemory } from '@galore-ts/galore';
import { type Args, gigabytes, optimizerOptions, parseArgs, Result, round, runMain, TRAINING_STEPS } from './common.js';

let result: Result | undefined;

async function main(args: Args): Promise<void> {
  const svd = (args.svd ?? 'exact') as 'exact' | 'randomized';
  result = new Result(args.out, { batch: 1, seq: 256, dtype: 'bf16', plans: {} });
  const plans: Record<string, unknown> = {};
  for (const { id, model, optimizer, rank } of TRAINING_STEPS) {
    const started = performance.now();
    const plan = planMemory({
      model,
      optimizer,
      batchSize: 1,
      seqLen: 256,
      dtype: 'bf16',
      ...optimizerOptions(optimizer, rank, svd),
    });
    plans[id] = {
      model,
      optimizer,
      rank: plan.rank,
      totalGB: gigabytes(plan.measured.total),
      breakdownGB: Object.fromEntries(Object.entries(plan.measured).map(([k, v]) => [k, gigabytes(v)])),
      seconds: round((performance.now() - started) / 1000, 2),
    };
    console.log(`plan ${id}: ${gigabytes(plan.measured.total)} GB`);
    result.set('plans', plans);
  }
  result.finish();
}

runMain(
  () => main(parseArgs(process.argv.slice(2))),
  () => result,
);
