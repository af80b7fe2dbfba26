/**
 * Readers for GLUE's own files as distributed (`glue_data/<Task>/train.tsv`, `dev.tsv`, MNLI's
 * `dev_matched.tsv`): tab-separated, UTF-8, no quoting (a quote character is text, as GLUE's and
 * transformers' readers treat it), CoLA without a header line, the others with one whose column
 * names locate the fields.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathExists } from '../io/exists.js';
import { type GlueTask, type GlueTaskName, glueTask } from '../tasks/glue-tasks.js';

export interface GlueExample {
  textA: string;
  /** The second sentence of a pair task. */
  textB?: string;
  /** The class id (see the task's `labels`), or the score for STS-B. */
  label: number;
  /** 1-based line number in the file, for messages. */
  line: number;
}

export interface GlueReadOptions {
  /**
   * Skip rows with the wrong number of fields instead of failing (transformers' QQP reader skips
   * them). Default false: a malformed row is an error naming the file and line.
   */
  skipMalformed?: boolean;
}

export interface GlueSplit {
  task: GlueTask;
  split: string;
  path: string;
  examples: GlueExample[];
  /** Line numbers of rows skipped with `skipMalformed`. */
  skippedLines: number[];
}

/** Parses the text of one GLUE TSV file of `task`; `fileName` is used in error messages. */
export function parseGlueTsv(
  taskName: GlueTaskName | GlueTask,
  text: string,
  fileName: string,
  options: GlueReadOptions = {},
): { examples: GlueExample[]; skippedLines: number[] } {
  const task = typeof taskName === 'string' ? glueTask(taskName) : taskName;
  const lines = text.replace(/^\uFEFF/, '').split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  const fail = (line: number, message: string): never => {
    throw new Error(`${fileName}:${line}: ${message} (GLUE ${task.name}, ${task.folder})`);
  };
  const cols = task.columns;
  let first = 0;
  let numColumns: number;
  let textA: number;
  let textB: number | undefined;
  let labelCol: number;
  if (cols.header) {
    if (lines.length === 0) fail(1, 'the file is empty; expected a header line');
    const header = stripCr(lines[0]!).split('\t');
    const find = (name: string): number => {
      const i = header.indexOf(name);
      if (i < 0) {
        fail(1, `the header has no column '${name}'; its columns are ${header.map((h) => `'${h}'`).join(', ')}`);
      }
      return i;
    };
    textA = find(cols.textA);
    textB = cols.textB === undefined ? undefined : find(cols.textB);
    labelCol = find(cols.label);
    numColumns = header.length;
    first = 1;
  } else {
    numColumns = cols.numColumns;
    textA = cols.textA;
    labelCol = cols.label;
    const head = lines.length > 0 ? stripCr(lines[0]!).split('\t') : [];
    if (head.length === 2 && head[0] === 'index' && head[1] === 'sentence') {
      fail(1, 'this is the unlabelled test file (header index, sentence); train.tsv and dev.tsv have labels');
    }
  }
  const examples: GlueExample[] = [];
  const skippedLines: number[] = [];
  for (let i = first; i < lines.length; i++) {
    const lineNo = i + 1;
    const raw = stripCr(lines[i]!);
    if (raw === '') continue;
    const fields = raw.split('\t');
    if (fields.length !== numColumns) {
      if (options.skipMalformed) {
        skippedLines.push(lineNo);
        continue;
      }
      fail(lineNo, `expected ${numColumns} tab-separated fields, got ${fields.length}`);
    }
    const label = parseLabel(task, fields[labelCol]!, (m) => fail(lineNo, m));
    const example: GlueExample = { textA: fields[textA]!, label, line: lineNo };
    if (textB !== undefined) example.textB = fields[textB]!;
    examples.push(example);
  }
  return { examples, skippedLines };
}

function stripCr(line: string): string {
  return line.endsWith('\r') ? line.slice(0, -1) : line;
}

function parseLabel(task: GlueTask, value: string, fail: (message: string) => never): number {
  if (task.problemType === 'regression') {
    const score = value.trim() === '' ? Number.NaN : Number(value);
    if (!Number.isFinite(score)) fail(`the score '${value}' is not a number`);
    return score;
  }
  const id = task.labels.indexOf(value);
  if (id < 0) fail(`unknown label '${value}'; the labels are ${task.labels.map((l) => `'${l}'`).join(', ')}`);
  return id;
}

/**
 * The path of `split` of `task` under `dataDir`, which is either GLUE's top folder (`glue_data`,
 * holding `CoLA/`, `SST-2/`, ...) or the task's own folder.
 */
export async function glueFilePath(dataDir: string, taskName: GlueTaskName | string, split: string): Promise<string> {
  const task = glueTask(taskName);
  const file = task.files[split];
  if (!file) {
    throw new RangeError(
      `GLUE ${task.name} has no split '${split}'; its labelled splits are ${Object.keys(task.files).join(', ')}`,
    );
  }
  const candidates = [join(dataDir, task.folder, file), join(dataDir, file)];
  for (const path of candidates) if (await pathExists(path)) return path;
  throw new Error(`GLUE ${task.name} ${split}: found neither ${candidates.join(' nor ')}`);
}

/** Reads one labelled split (`train`, `dev`, or MNLI's `dev_matched` / `dev_mismatched`). */
export async function readGlueSplit(
  dataDir: string,
  taskName: GlueTaskName | string,
  split: string,
  options: GlueReadOptions = {},
): Promise<GlueSplit> {
  const task = glueTask(taskName);
  const path = await glueFilePath(dataDir, task.name, split);
  const text = await readFile(path, 'utf8');
  const { examples, skippedLines } = parseGlueTsv(task, text, path, options);
  return { task, split, path, examples, skippedLines };
}
