/**
 * The chart as a Vega-Lite spec: training and validation loss against the step for every run, and,
 * when the runs evaluated, validation perplexity below it.
 */
import type { TopLevelSpec } from 'vega-lite';
import type { RunMetrics } from './runs.js';

interface Point {
  run: string;
  step: number;
  series: 'train loss' | 'val loss' | 'val perplexity';
  value: number;
}

export interface ChartOptions {
  title?: string;
  /** Exponential moving average of the training loss, as TensorBoard's slider (0: raw). */
  smooth?: number;
}

export function chartPoints(runs: readonly RunMetrics[], smooth = 0): Point[] {
  const points: Point[] = [];
  for (const { label, rows } of runs) {
    let ema: number | undefined;
    for (const r of rows) {
      ema = ema === undefined || smooth === 0 ? r.loss : smooth * ema + (1 - smooth) * r.loss;
      if (Number.isFinite(ema)) points.push({ run: label, step: r.step, series: 'train loss', value: ema });
      if (r.val_loss !== undefined) points.push({ run: label, step: r.step, series: 'val loss', value: r.val_loss });
      if (r.val_ppl !== undefined)
        points.push({ run: label, step: r.step, series: 'val perplexity', value: r.val_ppl });
    }
  }
  return points;
}

export function chartSpec(runs: readonly RunMetrics[], options: ChartOptions = {}): TopLevelSpec {
  const points = chartPoints(runs, options.smooth ?? 0);
  const x = { field: 'step', type: 'quantitative', title: 'step' } as const;
  const color = { field: 'run', type: 'nominal', title: 'run' } as const;
  const lossPanel = {
    width: 640,
    height: 300,
    title: 'loss',
    transform: [{ filter: "datum.series !== 'val perplexity'" }],
    mark: { type: 'line', point: false, strokeWidth: 1.8 },
    encoding: {
      x,
      y: { field: 'value', type: 'quantitative', title: 'cross-entropy (nats/token)', scale: { zero: false } },
      color,
      strokeDash: { field: 'series', type: 'nominal', title: 'series', sort: ['train loss', 'val loss'] },
    },
  } as const;
  const pplPanel = {
    width: 640,
    height: 220,
    title: 'validation perplexity',
    transform: [{ filter: "datum.series === 'val perplexity'" }],
    mark: { type: 'line', point: true },
    encoding: { x, y: { field: 'value', type: 'quantitative', title: 'perplexity', scale: { type: 'log' } }, color },
  } as const;
  const hasPerplexity = points.some((p) => p.series === 'val perplexity');
  // Checked by vega-lite's compile() at render time; its types do not accept the readonly literals above.
  const spec: unknown = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    ...(options.title ? { title: options.title } : {}),
    background: 'white',
    padding: 12,
    data: { values: points },
    vconcat: hasPerplexity ? [lossPanel, pplPanel] : [lossPanel],
    // One step axis for both panels, so the perplexity points line up under the loss curve.
    resolve: { scale: { x: 'shared' } },
  };
  return spec as TopLevelSpec;
}
