/**
 * GaLore's Table 4 on your machine: RoBERTa-base fine-tuned on the eight GLUE tasks with GaLore
 * (rank 4 and 8), LoRA (rank 4 and 8) and full fine-tuning, at the paper's hyper-parameters, our
 * scores and peak memory printed beside the paper's. Run by hand (never in `npm test`):
 *
 *   npm run bench:glue-table4 -- --glue ./glue_data --model ./roberta-base
 *
 * `--dry-run` prints the 40 runs and their hyper-parameters; `--tasks`, `--methods`, `--epochs`,
 * `--max-seq-len` narrow it; `--json` prints one JSON object. See docs/GLUE.md.
 */
import { processIO } from '../packages/cli/src/index.js';
import { glueTable4 } from './glue-table4/run.js';

process.exitCode = await glueTable4(process.argv.slice(2), processIO());
