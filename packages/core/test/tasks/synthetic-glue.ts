/**
 * All eight GLUE tasks in their distributed file layouts (GLUE's folder names, header lines and
 * columns; CoLA without a header, MNLI with its parse columns and dev_matched.tsv), filled with the
 * synthetic SST-2 words so that one tiny RoBERTa folder reads every task. Labels follow "good" in
 * the first sentence, so a model can learn them; the bench test only needs the formats.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { syntheticSentences, syntheticSst2File } from './synthetic-sst2.js';

type Row = { a: string; b: string; positive: boolean; i: number };

/** MNLI's columns before its labels (train.tsv and dev_matched.tsv alike). */
export const MNLI_HEAD = [
  'index',
  'promptID',
  'pairID',
  'genre',
  'sentence1_binary_parse',
  'sentence2_binary_parse',
  'sentence1_parse',
  'sentence2_parse',
  'sentence1',
  'sentence2',
];
const MNLI_LABELS = ['entailment', 'neutral', 'contradiction'];
const mnliRow = (r: Row, labels: number) => {
  const label = r.positive ? MNLI_LABELS[0]! : MNLI_LABELS[1 + (r.i % 2)]!;
  return [String(r.i), String(r.i), `${r.i}e`, 'fiction', '( a )', '( b )', '(ROOT a)', '(ROOT b)', r.a, r.b]
    .concat(Array.from({ length: labels }, () => label))
    .concat(label);
};

/** Each task: its folder, and per file the header (or null) and how a row is written. */
const TASKS: Record<string, { header: string[] | null; row: (r: Row, file: string) => string[] }> = {
  CoLA: { header: null, row: (r) => ['gj04', r.positive ? '1' : '0', r.positive ? '' : '*', r.a] },
  MRPC: {
    header: ['Quality', '#1 ID', '#2 ID', '#1 String', '#2 String'],
    row: (r) => [r.positive ? '1' : '0', String(1000 + r.i), String(2000 + r.i), r.a, r.b],
  },
  'STS-B': {
    header: [
      'index',
      'genre',
      'filename',
      'year',
      'old_index',
      'source1',
      'source2',
      'sentence1',
      'sentence2',
      'score',
    ],
    row: (r) => {
      const score = r.positive ? 3 + (r.i % 3) : r.i % 3;
      return [
        String(r.i),
        'main-captions',
        'MSRvid',
        '2012test',
        String(r.i),
        'none',
        'none',
        r.a,
        r.b,
        score.toFixed(3),
      ];
    },
  },
  QQP: {
    header: ['id', 'qid1', 'qid2', 'question1', 'question2', 'is_duplicate'],
    row: (r) => [String(r.i), String(2 * r.i), String(2 * r.i + 1), r.a, r.b, r.positive ? '1' : '0'],
  },
  MNLI: {
    header: null, // written per file: train has label1, dev_matched label1..label5
    row: (r, file) => mnliRow(r, file === 'train.tsv' ? 1 : 5),
  },
  QNLI: {
    header: ['index', 'question', 'sentence', 'label'],
    row: (r) => [String(r.i), r.a, r.b, r.positive ? 'entailment' : 'not_entailment'],
  },
  RTE: {
    header: ['index', 'sentence1', 'sentence2', 'label'],
    row: (r) => [String(r.i), r.a, r.b, r.positive ? 'entailment' : 'not_entailment'],
  },
};

function mnliHeader(file: string): string[] {
  const labels = file === 'train.tsv' ? ['label1'] : ['label1', 'label2', 'label3', 'label4', 'label5'];
  return [...MNLI_HEAD, ...labels, 'gold_label'];
}

function taskFile(folder: string, file: string, n: number, seed: number): string {
  const firsts = syntheticSentences(n, seed);
  const seconds = syntheticSentences(n, seed + 1);
  const spec = TASKS[folder]!;
  const header = folder === 'MNLI' ? mnliHeader(file) : spec.header;
  const rows = firsts.map((f, i) => spec.row({ a: f.text, b: seconds[i]!.text, positive: f.positive, i }, file));
  return `${[...(header ? [header] : []), ...rows].map((r) => r.join('\t')).join('\n')}\n`;
}

/** Writes glue_data-style folders of all eight tasks under `dir`: `train` and `dev` rows each. */
export async function writeSyntheticGlue(dir: string, sizes: { train: number; dev: number }): Promise<void> {
  await mkdir(join(dir, 'SST-2'), { recursive: true });
  await writeFile(join(dir, 'SST-2', 'train.tsv'), syntheticSst2File(sizes.train, 7));
  await writeFile(join(dir, 'SST-2', 'dev.tsv'), syntheticSst2File(sizes.dev, 99));
  for (const folder of Object.keys(TASKS)) {
    await mkdir(join(dir, folder), { recursive: true });
    const dev = folder === 'MNLI' ? 'dev_matched.tsv' : 'dev.tsv';
    await writeFile(join(dir, folder, 'train.tsv'), taskFile(folder, 'train.tsv', sizes.train, 11));
    await writeFile(join(dir, folder, dev), taskFile(folder, dev, sizes.dev, 101));
  }
}
