import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { glueFilePath, parseGlueTsv, readGlueSplit } from '../../src/data/index.js';
import { GLUE_TASK_NAMES, GLUE_TASKS, glueTask } from '../../src/tasks/index.js';
import { useTempDir } from '../helpers/temp-dir.js';
import { MNLI_HEAD } from '../tasks/synthetic-glue.js';

const tsv = (...rows: string[][]) => `${rows.map((r) => r.join('\t')).join('\n')}\n`;

// Rows in each task's exact distributed layout (the first rows of GLUE's files, some shortened).
const FILES: Record<string, Record<string, string>> = {
  CoLA: {
    // No header: source, label, original label ('*' or empty), sentence.
    'train.tsv': tsv(
      ['gj04', '1', '', "Our friends won't buy this analysis, let alone the next one we propose."],
      ['gj04', '0', '*', 'They drank the pub.'],
    ),
    'dev.tsv': tsv(['gj04', '1', '', 'The sailors rode the breeze clear of the rocks.']),
  },
  'SST-2': {
    'train.tsv': tsv(
      ['sentence', 'label'],
      ['hide new secretions from the parental units ', '0'],
      ['the greatest musicians ', '1'],
    ),
    'dev.tsv': tsv(['sentence', 'label'], ["it 's a charming and often affecting journey . ", '1']),
  },
  MRPC: {
    'train.tsv': tsv(
      ['Quality', '#1 ID', '#2 ID', '#1 String', '#2 String'],
      [
        '1',
        '702876',
        '702977',
        'Amrozi accused his brother , whom he called " the witness " , of deliberately distorting his evidence .',
        'Referring to him as only " the witness " , Amrozi accused his brother of deliberately distorting his evidence .',
      ],
      [
        '0',
        '2108705',
        '2108831',
        "Yucaipa owned Dominick 's before selling the chain .",
        "Yucaipa bought Dominick 's in 1995 .",
      ],
    ),
    'dev.tsv': tsv(
      ['Quality', '#1 ID', '#2 ID', '#1 String', '#2 String'],
      ['1', '1355540', '1355592', 'He said A .', 'He said B .'],
    ),
  },
  'STS-B': {
    'train.tsv': tsv(
      ['index', 'genre', 'filename', 'year', 'old_index', 'source1', 'source2', 'sentence1', 'sentence2', 'score'],
      [
        '0',
        'main-captions',
        'MSRvid',
        '2012test',
        '0001',
        'none',
        'none',
        'A plane is taking off.',
        'An air plane is taking off.',
        '5.000',
      ],
      [
        '1',
        'main-captions',
        'MSRvid',
        '2012test',
        '0004',
        'none',
        'none',
        'A man is playing a large flute.',
        'A man is playing a flute.',
        '3.800',
      ],
    ),
    'dev.tsv': tsv(
      ['index', 'genre', 'filename', 'year', 'old_index', 'source1', 'source2', 'sentence1', 'sentence2', 'score'],
      [
        '0',
        'main-captions',
        'MSRvid',
        '2012test',
        '0000',
        'none',
        'none',
        'A man with a hard hat is dancing.',
        'A man wearing a hard hat is dancing.',
        '5.000',
      ],
    ),
  },
  QQP: {
    'train.tsv': tsv(
      ['id', 'qid1', 'qid2', 'question1', 'question2', 'is_duplicate'],
      [
        '133273',
        '213221',
        '213222',
        'How is the life of a math student?',
        'Which level of prepration is enough for the exam jlpt5?',
        '0',
      ],
      ['402555', '536040', '536041', 'How do I control my horny emotions?', 'How do you control your horniness?', '1'],
    ),
    'dev.tsv': tsv(
      ['id', 'qid1', 'qid2', 'question1', 'question2', 'is_duplicate'],
      ['201359', '303345', '303346', 'Why are African-Americans so beautiful?', 'Why are hispanics so beautiful?', '0'],
    ),
  },
  MNLI: {
    'train.tsv': tsv(
      [...MNLI_HEAD, 'label1', 'gold_label'],
      [
        '0',
        '31193',
        '31193n',
        'government',
        '( ( Conceptually ...',
        '( ( ( Product ...',
        '(ROOT (S ...',
        '(ROOT (S ...',
        'Conceptually cream skimming has two basic dimensions - product and geography.',
        'Product and geography are what make cream skimming work. ',
        'neutral',
        'neutral',
      ],
      [
        '1',
        '101457',
        '101457e',
        'telephone',
        '( you ...',
        '( You ...',
        '(ROOT ...',
        '(ROOT ...',
        'you know during the season and i guess at at your level uh you lose them to the next level',
        'You lose the things to the following level if the people recall.',
        'entailment',
        'entailment',
      ],
    ),
    'dev_matched.tsv': tsv(
      [...MNLI_HEAD, 'label1', 'label2', 'label3', 'label4', 'label5', 'gold_label'],
      [
        '0',
        '63735',
        '63735n',
        'slate',
        '( ( The ...',
        '( ( The ...',
        '(ROOT ...',
        '(ROOT ...',
        'The new rights are nice enough',
        'Everyone really likes the newest benefits ',
        'neutral',
        'entailment',
        'neutral',
        'neutral',
        'neutral',
        'neutral',
      ],
      [
        '1',
        '91383',
        '91383c',
        'government',
        '( ( This ...',
        '( ( The ...',
        '(ROOT ...',
        '(ROOT ...',
        'This site includes a list of all award winners.',
        'The Government Executive articles housed on the website are not able to be searched.',
        'contradiction',
        'contradiction',
        'contradiction',
        'contradiction',
        'contradiction',
        'contradiction',
      ],
    ),
  },
  QNLI: {
    'train.tsv': tsv(
      ['index', 'question', 'sentence', 'label'],
      [
        '0',
        'When did the third Digimon series begin?',
        'Unlike the two seasons before it, the third season is darker.',
        'not_entailment',
      ],
    ),
    'dev.tsv': tsv(
      ['index', 'question', 'sentence', 'label'],
      [
        '0',
        'What came into force after the new constitution was herald?',
        'As of that day, the new constitution heralding the Second Republic came into force.',
        'entailment',
      ],
    ),
  },
  RTE: {
    'train.tsv': tsv(
      ['index', 'sentence1', 'sentence2', 'label'],
      [
        '0',
        'No Weapons of Mass Destruction Found in Iraq Yet.',
        'Weapons of Mass Destruction Found in Iraq.',
        'not_entailment',
      ],
    ),
    'dev.tsv': tsv(
      ['index', 'sentence1', 'sentence2', 'label'],
      [
        '0',
        'Dana Reeve, the widow of the actor Christopher Reeve, has died of lung cancer at age 44.',
        'Christopher Reeve had an accident.',
        'not_entailment',
      ],
    ),
  },
};

const tmp = useTempDir('galore-glue-');
beforeAll(async () => {
  for (const [folder, files] of Object.entries(FILES)) {
    await mkdir(join(tmp.path, folder));
    for (const [name, text] of Object.entries(files)) await writeFile(join(tmp.path, folder, name), text);
  }
});

describe('GLUE readers', () => {
  it('read CoLA without a header: label column 1, sentence column 4', async () => {
    const { examples } = await readGlueSplit(tmp.path, 'cola', 'train');
    expect(examples).toEqual([
      { textA: "Our friends won't buy this analysis, let alone the next one we propose.", label: 1, line: 1 },
      { textA: 'They drank the pub.', label: 0, line: 2 },
    ]);
    expect((await readGlueSplit(tmp.path, 'cola', 'dev')).examples).toHaveLength(1);
  });

  it('read SST-2 (sentence, label), keeping the text as written', async () => {
    const { examples } = await readGlueSplit(tmp.path, 'sst2', 'train');
    expect(examples).toEqual([
      { textA: 'hide new secretions from the parental units ', label: 0, line: 2 },
      { textA: 'the greatest musicians ', label: 1, line: 3 },
    ]);
  });

  it('read MRPC pairs with quote characters as plain text', async () => {
    const { examples } = await readGlueSplit(tmp.path, 'MRPC', 'train');
    expect(examples[0]!.label).toBe(1);
    expect(examples[0]!.textA).toContain('" the witness "');
    expect(examples[0]!.textB!.startsWith('Referring to him')).toBe(true);
    expect(examples[1]).toMatchObject({ label: 0, textB: "Yucaipa bought Dominick 's in 1995 .", line: 3 });
  });

  it('read STS-B scores as numbers (regression)', async () => {
    const { examples } = await readGlueSplit(tmp.path, 'sts-b', 'train');
    expect(examples.map((e) => e.label)).toEqual([5, 3.8]);
    expect(examples[1]).toMatchObject({ textA: 'A man is playing a large flute.', textB: 'A man is playing a flute.' });
  });

  it('read QQP question pairs', async () => {
    const { examples } = await readGlueSplit(tmp.path, 'qqp', 'train');
    expect(examples.map((e) => e.label)).toEqual([0, 1]);
    expect(examples[1]!.textB).toBe('How do you control your horniness?');
  });

  it('read MNLI train (12 columns) and dev_matched (16 columns) by column name', async () => {
    const train = await readGlueSplit(tmp.path, 'mnli', 'train');
    expect(train.examples.map((e) => e.label)).toEqual([1, 0]); // neutral, entailment
    expect(train.examples[0]!.textA).toBe(
      'Conceptually cream skimming has two basic dimensions - product and geography.',
    );
    const dev = await readGlueSplit(tmp.path, 'mnli', GLUE_TASKS.mnli.devSplit);
    expect(dev.path.endsWith(join('MNLI', 'dev_matched.tsv'))).toBe(true);
    expect(dev.examples.map((e) => e.label)).toEqual([1, 2]); // neutral, contradiction
    expect(dev.examples[1]!.textB).toBe(
      'The Government Executive articles housed on the website are not able to be searched.',
    );
  });

  it('read QNLI and RTE string labels', async () => {
    expect((await readGlueSplit(tmp.path, 'qnli', 'train')).examples[0]).toMatchObject({
      textA: 'When did the third Digimon series begin?',
      label: 1,
    });
    expect((await readGlueSplit(tmp.path, 'qnli', 'dev')).examples[0]!.label).toBe(0);
    expect((await readGlueSplit(tmp.path, 'rte', 'dev')).examples[0]).toMatchObject({
      textB: 'Christopher Reeve had an accident.',
      label: 1,
    });
  });

  it('accept the task folder itself, CRLF line ends and a byte-order mark', async () => {
    expect(await glueFilePath(join(tmp.path, 'RTE'), 'rte', 'train')).toBe(join(tmp.path, 'RTE', 'train.tsv'));
    const text = `\uFEFF${FILES['SST-2']!['train.tsv']!.replace(/\n/g, '\r\n')}`;
    expect(parseGlueTsv('sst2', text, 'x.tsv').examples.map((e) => e.textA)).toEqual([
      'hide new secretions from the parental units ',
      'the greatest musicians ',
    ]);
  });

  it('name the file and line of a malformed row', () => {
    const bad = `${FILES.QQP!['train.tsv']}1\t2\t3\tonly a question\t1\n`;
    expect(() => parseGlueTsv('qqp', bad, 'QQP/train.tsv')).toThrow(
      'QQP/train.tsv:4: expected 6 tab-separated fields, got 5',
    );
    expect(parseGlueTsv('qqp', bad, 'QQP/train.tsv', { skipMalformed: true }).skippedLines).toEqual([4]);
    expect(() =>
      parseGlueTsv('rte', tsv(['index', 'sentence1', 'sentence2', 'label'], ['0', 'a', 'b', 'maybe']), 'r.tsv'),
    ).toThrow("r.tsv:2: unknown label 'maybe'; the labels are 'entailment', 'not_entailment'");
    expect(() => parseGlueTsv('stsb', FILES['STS-B']!['dev.tsv']!.replace('5.000', 'five'), 's.tsv')).toThrow(
      "s.tsv:2: the score 'five' is not a number",
    );
    expect(() => parseGlueTsv('sst2', tsv(['text', 'label'], ['a', '1']), 'sst.tsv')).toThrow(
      "sst.tsv:1: the header has no column 'sentence'",
    );
    // The CoLA reader given SST-2's file: the header row has 2 fields.
    expect(() => parseGlueTsv('cola', FILES['SST-2']!['train.tsv']!, 'cola.tsv')).toThrow('cola.tsv:1: expected 4');
    expect(() => parseGlueTsv('cola', tsv(['index', 'sentence'], ['0', 'x']), 'test.tsv')).toThrow(
      'unlabelled test file',
    );
  });

  it('refuse unknown tasks, splits and missing files clearly', async () => {
    expect(() => glueTask('wnli')).toThrow("unknown GLUE task 'wnli'; the tasks are cola, sst2");
    await expect(glueFilePath(tmp.path, 'mnli', 'dev')).rejects.toThrow("GLUE mnli has no split 'dev'");
    await expect(glueFilePath(join(tmp.path, 'nowhere'), 'cola', 'train')).rejects.toThrow('found neither');
  });

  it('table: every task has its labels, metric and problem type', () => {
    expect(GLUE_TASK_NAMES).toHaveLength(8);
    for (const name of GLUE_TASK_NAMES) {
      const t = GLUE_TASKS[name];
      expect(t.files[t.devSplit]).toBeDefined();
      if (t.problemType === 'regression') expect(t.numLabels).toBe(1);
      else expect(t.labels).toHaveLength(t.numLabels);
    }
    expect(GLUE_TASKS.stsb.problemType).toBe('regression');
    expect(GLUE_TASKS.cola.metrics).toEqual(['matthews_correlation']);
  });
});
