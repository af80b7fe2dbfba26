/** `galore-ts plot`: loss and perplexity curves of one or several runs, to an SVG or PNG file. */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, extname, resolve } from 'node:path';
import { Command } from 'commander';
import type { CliIO } from '../io.js';
import { fraction } from '../parse.js';
import { renderSvg, svgToPng } from '../plot/render.js';
import { readRuns } from '../plot/runs.js';
import { chartSpec } from '../plot/spec.js';

interface PlotFlags {
  out: string;
  title?: string;
  smooth: number;
}

export function plotCommand(io: CliIO): Command {
  return new Command('plot')
    .description('plot training and validation loss and perplexity of runs to an .svg or .png file')
    .argument('<runs...>', 'run folders (with metrics.jsonl) or metrics .jsonl files')
    .requiredOption('-o, --out <file>', 'output file; .svg or .png')
    .option('--title <text>', 'chart title')
    .option('--smooth <x>', 'exponential smoothing of the training loss, 0 to 1', fraction, 0)
    .action(async (runs: string[], flags: PlotFlags) => {
      const file = await runPlot(runs, flags);
      io.stdout(`wrote ${file}\n`);
    });
}

export async function runPlot(paths: readonly string[], flags: PlotFlags): Promise<string> {
  const format = extname(flags.out).toLowerCase();
  if (format !== '.svg' && format !== '.png') {
    throw new Error(`--out ${flags.out}: the file name must end in .svg or .png`);
  }
  const runs = await readRuns(paths);
  const svg = await renderSvg(
    chartSpec(runs, { smooth: flags.smooth, ...(flags.title ? { title: flags.title } : {}) }),
  );
  const file = resolve(flags.out);
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, format === '.svg' ? svg : svgToPng(svg));
  return file;
}
