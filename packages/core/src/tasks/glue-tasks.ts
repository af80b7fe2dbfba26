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

/** The fields of a classification task with train.tsv and dev.tsv: one class per label name. */
function classification(labels: readonly string[], metrics: readonly GlueMetricName[]) {
  const problemType = 'single_label_classification' as const;
  return { files: TRAIN_DEV, devSplit: 'dev', numLabels: labels.length, problemType, labels, metrics };
}

export const GLUE_TASKS: Readonly<Record<GlueTaskName, GlueTask>> = {
  cola: {
    name: 'cola',
    folder: 'CoLA',
    // source, label, original label (a star or empty), sentence; no header.
    columns: { header: false, numColumns: 4, textA: 3, label: 1 },
    ...classification(BINARY, ['matthews_correlation']),
  },
  sst2: {
    name: 'sst2',
    folder: 'SST-2',
    columns: { header: true, textA: 'sentence', label: 'label' },
    ...classification(BINARY, ['accuracy']),
  },
  mrpc: {
    name: 'mrpc',
    folder: 'MRPC',
    // Quality, #1 ID, #2 ID, #1 String, #2 String
    columns: { header: true, textA: '#1 String', textB: '#2 String', label: 'Quality' },
    ...classification(BINARY, ['accuracy', 'f1']),
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
    // id, qid1, qid2, question1, question2, is_duplicate
    columns: { header: true, textA: 'question1', textB: 'question2', label: 'is_duplicate' },
    ...classification(BINARY, ['accuracy', 'f1']),
  },
  mnli: {
    name: 'mnli',
    folder: 'MNLI',
    // index, promptID, pairID, genre, 4 parses, sentence1, sentence2, label1 (.. label5 in dev), gold_label
    columns: { header: true, textA: 'sentence1', textB: 'sentence2', label: 'gold_label' },
    ...classification(['entailment', 'neutral', 'contradiction'], ['accuracy']),
    files: { train: 'train.tsv', dev_matched: 'dev_matched.tsv', dev_mismatched: 'dev_mismatched.tsv' },
    devSplit: 'dev_matched',
  },
  qnli: {
    name: 'qnli',
    folder: 'QNLI',
    // index, question, sentence, label
    columns: { header: true, textA: 'question', textB: 'sentence', label: 'label' },
    ...classification(['entailment', 'not_entailment'], ['accuracy']),
  },
  rte: {
    name: 'rte',
    folder: 'RTE',
    // index, sentence1, sentence2, label
    columns: { header: true, textA: 'sentence1', textB: 'sentence2', label: 'label' },
    ...classification(['entailment', 'not_entailment'], ['accuracy']),
  },
};

/** The task named `name` (case-insensitive; `sst-2`, `sts-b` accepted), or an error listing the tasks. */
export function glueTask(name: string): GlueTask {
  const key = name.toLowerCase().replace(/-/g, '') as GlueTaskName;
  const task = GLUE_TASKS[key];
  if (!task) throw new RangeError(`unknown GLUE task '${name}'; the tasks are ${GLUE_TASK_NAMES.join(', ')}`);
  return task;
}
