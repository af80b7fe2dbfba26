/** The memory plan as a table a person reads (what `galore-ts memory` prints). */
import type { MemoryBreakdown, MemoryPlan } from './plan.js';

const GB = 1e9;

function gb(bytes: number): string {
  return `${(bytes / GB).toFixed(2)} GB`;
}

function compact(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)}B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  return String(n);
}

const ROWS: [keyof MemoryBreakdown, string][] = [
  ['weights', 'weights'],
  ['gradients', 'gradients'],
  ['optimizer', 'optimizer state'],
  ['activations', 'activations'],
  ['other', 'other (temporaries)'],
];

export function formatMemoryPlan(plan: MemoryPlan): string {
  const head =
    `${plan.model.name} (${compact(plan.model.parameters)} parameters), ${plan.optimizer}` +
    `${plan.method === 'full' ? '' : `, ${plan.method} (${compact(plan.model.trainableParameters)} trained)`}` +
    `${plan.rank !== null ? `, rank ${plan.rank}` : ''}, batch ${plan.batchSize} x ${plan.seqLen} tokens, ${plan.dtype}` +
    `${plan.gradientCheckpointing ? ', gradient checkpointing' : ''}`;
  const lines = [
    head,
    '',
    `${'category'.padEnd(22)}${'at peak'.padStart(12)}${'own peak'.padStart(12)}${'expected'.padStart(12)}`,
  ];
  const ownPeak: Record<string, number> = {
    weights: plan.categoryPeaks.parameter,
    gradients: plan.categoryPeaks.gradient,
    optimizer: plan.categoryPeaks.optimizer,
    activations: plan.categoryPeaks.activation,
    other: plan.categoryPeaks.other,
  };
  const expected = plan.expected as Partial<Record<keyof MemoryBreakdown, number>>;
  for (const [key, label] of ROWS) {
    const e = expected[key];
    const note =
      key === 'activations' ? ' (estimate)' : key === 'gradients' && plan.layerwise ? ' (largest single gradient)' : '';
    lines.push(
      `${label.padEnd(22)}${gb(plan.measured[key]).padStart(12)}${gb(ownPeak[key] ?? 0).padStart(12)}${(e === undefined ? '-' : gb(e)).padStart(12)}${note}`,
    );
  }
  lines.push(`${'total (peak)'.padEnd(22)}${gb(plan.measured.total).padStart(12)}`);
  lines.push(
    `${'weights + optimizer'.padEnd(22)}${gb(plan.measured.weights + plan.measured.optimizer).padStart(12)}${''.padStart(12)}${gb(plan.expected.weights + plan.expected.optimizer).padStart(12)}`,
  );
  if (plan.paper.length > 0) {
    lines.push('', 'GaLore paper (arXiv 2403.03507), GB = 10^9 bytes:');
    for (const f of plan.paper) {
      const ours = f.compareTo === 'total' ? plan.measured.total : plan.measured.weights + plan.measured.optimizer;
      const comparison = f.optimizers.includes(plan.optimizer)
        ? `ours (${f.compareTo}): ${gb(ours)}`
        : `for ${f.optimizers[0]}`;
      lines.push(`  ${f.label.padEnd(66)}${`${f.gigabytes.toFixed(2)} GB`.padStart(10)}   ${comparison}`);
    }
  }
  return lines.join('\n');
}
