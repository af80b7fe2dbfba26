/**
 * The eight GLUE tasks of the GaLore paper's fine-tuning table (Table 4), as GLUE distributes them:
 * the folder name inside `glue_data/`, the dev files, the columns read, the labels and the metrics
 * GLUE reports for each.
 *
 * Label order follows the Hugging Face `datasets` GLUE builder, which `run_glue.py` (the script the
 * paper fine-tuned with) uses: MNLI is entailment=0, neutral=1, contradiction=2; QNLI and RTE are
 * entailment=0, not_entailment=1; the binary tasks keep GLUE's 0/1.
 */

export type GlueTaskName = 'cola' | 'sst2' | 'mrpc' | 'stsb' | 'qqp' | 'mnli' | 'qnli' | 'rte';

export const GLUE_TASK_NAMES: readonly GlueTaskName[] = ['cola', 'sst2', 'mrpc', 'stsb', 'qqp', 'mnli', 'qnli', 'rte'];

export type GlueMetricName = 'matthews_correlation' | 'pearson' | 'spearmanr' | 'accuracy' | 'f1';

/** How a row of the TSV maps to an example. */
export type GlueColumns =
  | {
      /** No header line: fixed column indices (CoLA's train.tsv and dev.tsv). */
      header: false;
      numColumns: number;
      textA: number;
      label: number;
    }
  | {
      /** A header line; columns are found by name. `textB` is absent for single-sentence tasks. */
      header: true;
      textA: string;
      textB?: string;
      label: string;
    };

export interface GlueTask {
  name: GlueTaskName;
  /** The task's folder in GLUE's download (`glue_data/<folder>/train.tsv`). */
  folder: string;
  /** File names of the splits with labels: `train` and the dev split(s), MNLI's matched first. */
  files: Readonly<Record<string, string>>;
  /** The dev split evaluated after each epoch. */
  devSplit: string;
  columns: GlueColumns;
  /** 1 for a regression task (STS-B), else the number of classes. */
  numLabels: number;
  /** `problem_type` in transformers' terms. */
  problemType: 'regression' | 'single_label_classification';
  /** Class names by id, as GLUE writes them in the label column (empty for regression). */
  labels: readonly string[];
  /** Metrics GLUE reports, the first being the one the paper's table shows for most tasks. */
  metrics: readonly GlueMetricName[];
}

const TRAIN_DEV = { train: 'train.tsv', dev: 'dev.tsv' } as const;
const BINARY = ['0', '1'] as const;

export const GLUE_TASKS: Readonly<Record<GlueTaskName, GlueTask>> = {
  cola: {
    name: 'cola',
    folder: 'CoLA',
    files: TRAIN_DEV,
    devSplit: 'dev',
    // source, label, original label (a star or empty), sentence; no header.
    columns: { header: false, numColumns: 4, textA: 3, label: 1 },
    numLabels: 2,
    problemType: 'single_label_classification',
    labels: BINARY,
    metrics: ['matthews_correlation'],
  },
  sst2: {
    name: 'sst2',
    folder: 'SST-2',
    files: TRAIN_DEV,
    devSplit: 'dev',
    columns: { header: true, textA: 'sentence', label: 'label' },
    numLabels: 2,
    problemType: 'single_label_classification',
    labels: BINARY,
    metrics: ['accuracy'],
  },
  mrpc: {
    name: 'mrpc',
    folder: 'MRPC',
    files: TRAIN_DEV,
    devSplit: 'dev',
    // Quality, #1 ID, #2 ID, #1 String, #2 String
    columns: { header: true, textA: '#1 String', textB: '#2 String', label: 'Quality' },
    numLabels: 2,
    problemType: 'single_label_classification',
    labels: BINARY,
    metrics: ['accuracy', 'f1'],
  },
  stsb: {
    name: 'stsb',
    folder: 'STS-B',
    files: TRAIN_DEV,
    devSplit: 'dev',
    // index, genre, filename, year, old_index, source1, source2, sentence1, sentence2, score
    columns: { header: true, textA: 'sentence1', textB: 'sentence2', label: 'score' },
    numLabels: 1,
    problemType: 'regression',
    labels: [],
    metrics: ['pearson', 'spearmanr'],
  },
  qqp: {
    name: 'qqp',
    folder: 'QQP',
    files: TRAIN_DEV,
    devSplit: 'dev',
    // id, qid1, qid2, question1, question2, is_duplicate
    columns: { header: true, textA: 'question1', textB: 'question2', label: 'is_duplicate' },
    numLabels: 2,
    problemType: 'single_label_classification',
    labels: BINARY,
    metrics: ['accuracy', 'f1'],
  },
  mnli: {
    name: 'mnli',
    folder: 'MNLI',
    files: { train: 'train.tsv', dev_matched: 'dev_matched.tsv', dev_mismatched: 'dev_mismatched.tsv' },
    devSplit: 'dev_matched',
    // index, promptID, pairID, genre, 4 parses, sentence1, sentence2, label1 (.. label5 in dev), gold_label
    columns: { header: true, textA: 'sentence1', textB: 'sentence2', label: 'gold_label' },
    numLabels: 3,
    problemType: 'single_label_classification',
    labels: ['entailment', 'neutral', 'contradiction'],
    metrics: ['accuracy'],
  },
  qnli: {
    name: 'qnli',
    folder: 'QNLI',
    files: TRAIN_DEV,
    devSplit: 'dev',
    // index, question, sentence, label
    columns: { header: true, textA: 'question', textB: 'sentence', label: 'label' },
    numLabels: 2,
    problemType: 'single_label_classification',
    labels: ['entailment', 'not_entailment'],
    metrics: ['accuracy'],
  },
  rte: {
    name: 'rte',
    folder: 'RTE',
    files: TRAIN_DEV,
    devSplit: 'dev',
    // index, sentence1, sentence2, label
    columns: { header: true, textA: 'sentence1', textB: 'sentence2', label: 'label' },
    numLabels: 2,
    problemType: 'single_label_classification',
    labels: ['entailment', 'not_entailment'],
    metrics: ['accuracy'],
  },
};

/** The task named `name` (case-insensitive; `sst-2`, `sts-b` accepted), or an error listing the tasks. */
export function glueTask(name: string): GlueTask {
  const key = name.toLowerCase().replace(/-/g, '') as GlueTaskName;
  const task = GLUE_TASKS[key];
  if (!task) throw new RangeError(`unknown GLUE task '${name}'; the tasks are ${GLUE_TASK_NAMES.join(', ')}`);
  return task;
}
