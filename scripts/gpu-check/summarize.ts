/**
 * Reads the check's report.json and puts each figure beside its peer: the step table, matmul GFLOPS
 * (cuBLAS through our backend, our own kernels, torch.matmul), the LLaMA-1B training step per
 * optimizer (tokens/s and peak memory beside the plan, the paper and PyTorch) and the 7B memory
 * claim. Adds them to report.json as `summary` and writes them as Markdown.
 *
 *   node scripts/gpu-check/dist/summarize.mjs report.json summary.md
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { PAPER, TRAINING_STEPS } from './common.js';

interface Step {
  id: string;
  status: 'ok' | 'failed' | 'skipped';
  reason: string | null;
  seconds: number;
  result: Record<string, unknown> | null;
}

interface Report {
  mode: string;
  wallSeconds: number;
  counts: Record<string, number>;
  steps: Step[];
  summary?: unknown;
}

interface MatmulRun {
  dtype: string;
  impl: string;
  gflops?: number;
  maxRelError?: number;
}

interface TrainResult {
  steps?: { seconds: number }[];
  summary?: {
    tokensPerSecond: number | null;
    firstStepSeconds: number | null;
    trackerPeakGB: number;
    allocatorPeakReservedGB: number | null;
    planGB: number | null;
  };
}

const cell = (value: unknown): string => (value === null || value === undefined ? '—' : String(value));

function table(header: string[], rows: unknown[][]): string {
  return [
    `| ${header.join(' | ')} |`,
    `| ${header.map(() => '---').join(' | ')} |`,
    ...rows.map((row) => `| ${row.map(cell).join(' | ')} |`),
  ].join('\n');
}

/** A step's figure, or its status and reason when it has none. */
function orStatus(step: Step | undefined, value: unknown): unknown {
  if (value !== null && value !== undefined) return value;
  if (!step) return 'not run';
  return step.status === 'ok' ? null : `${step.status}${step.reason ? `: ${step.reason}` : ''}`;
}

export function summarize(report: Report) {
  const byId = new Map(report.steps.map((s) => [s.id, s]));
  const steps = report.steps.map((s) => [s.id, s.status, s.seconds, s.reason]);

  const ours = (byId.get('bench-matmul')?.result?.runs ?? []) as MatmulRun[];
  const torch = (byId.get('bench-matmul-torch')?.result?.runs ?? []) as MatmulRun[];
  const matmul = ['bfloat16', 'float32'].map((dtype) => {
    const find = (runs: MatmulRun[], impl?: string) =>
      runs.find((r) => r.dtype === dtype && (impl === undefined || r.impl === impl));
    return {
      dtype,
      cublas: find(ours, 'cublas')?.gflops ?? null,
      ours: find(ours, 'ours')?.gflops ?? null,
      torch: find(torch)?.gflops ?? null,
      maxRelError: find(ours, 'ours')?.maxRelError ?? null,
    };
  });

  const plans = (byId.get('plans')?.result?.plans ?? {}) as Record<string, { totalGB: number }>;
  const training = TRAINING_STEPS.map(({ id, model, optimizer }) => {
    const step = byId.get(id);
    const result = (step?.result ?? {}) as TrainResult;
    return {
      id,
      status: step?.status ?? 'not run',
      tokensPerSecond: result.summary?.tokensPerSecond ?? null,
      firstStepSeconds: result.summary?.firstStepSeconds ?? result.steps?.[0]?.seconds ?? null,
      trackerPeakGB: result.summary?.trackerPeakGB ?? null,
      allocatorPeakReservedGB: result.summary?.allocatorPeakReservedGB ?? null,
      planGB: plans[id]?.totalGB ?? null,
      paper: PAPER[model]?.[optimizer] ?? null,
    };
  });
  const peer = byId.get('bench-1b-torch-adamw');
  const peerSummary = (peer?.result?.summary ?? null) as {
    tokensPerSecond: number | null;
    maxAllocatedGB: number;
    maxReservedGB: number;
  } | null;

  const markdown = [
    `# GPU check (${report.mode}): ${report.counts.ok} ok, ${report.counts.failed} failed, ${report.counts.skipped} skipped in ${report.wallSeconds} s`,
    '',
    table(['step', 'status', 's', 'reason'], steps),
    '',
    '## matmul 4096 x 4096 x 4096, GFLOPS',
    '',
    table(
      ['dtype', 'ours via cuBLAS', 'ours, own kernels', 'torch.matmul', 'max rel. error (own)'],
      matmul.map((m) => [
        m.dtype,
        orStatus(byId.get('bench-matmul'), m.cublas),
        orStatus(byId.get('bench-matmul'), m.ours),
        orStatus(byId.get('bench-matmul-torch'), m.torch),
        m.maxRelError === null ? null : m.maxRelError.toExponential(2),
      ]),
    ),
    '',
    '## LLaMA training step, 1 x 256 tokens, bf16 weights',
    '',
    table(
      [
        'step',
        'tokens/s (steady)',
        'first step s',
        'peak GB (tracker)',
        'peak reserved GB (allocator)',
        'plan GB (meta)',
        'tracker / plan',
        'paper',
      ],
      [
        ...training.map((t) => {
          const step = byId.get(t.id);
          return [
            t.id,
            orStatus(step, t.tokensPerSecond),
            t.firstStepSeconds,
            t.trackerPeakGB,
            t.allocatorPeakReservedGB,
            t.planGB,
            t.trackerPeakGB !== null && t.planGB ? (t.trackerPeakGB / t.planGB).toFixed(3) : null,
            t.paper
              ? `${t.paper.label}: ${[
                  t.paper.tokensPerSecond && `${t.paper.tokensPerSecond} tok/s`,
                  t.paper.totalGB && `${t.paper.totalGB} GB`,
                ]
                  .filter(Boolean)
                  .join(', ')}`
              : null,
          ];
        }),
        [
          'PyTorch peer: transformers + torch AdamW (bf16 moments), llama_1b',
          orStatus(peer, peerSummary?.tokensPerSecond),
          null,
          peerSummary ? `${peerSummary.maxAllocatedGB} (max allocated)` : null,
          peerSummary?.maxReservedGB ?? null,
          null,
          null,
          null,
        ],
      ],
    ),
    '',
  ].join('\n');
  return { matmul, training, torchPeer: peerSummary, markdown };
}

function main(): void {
  const [reportPath, markdownPath] = process.argv.slice(2);
  if (!reportPath || !markdownPath) throw new Error('usage: summarize.mjs report.json summary.md');
  const report = JSON.parse(readFileSync(reportPath, 'utf8')) as Report;
  const { markdown, ...summary } = summarize(report);
  report.summary = summary;
  writeFileSync(reportPath, `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(markdownPath, markdown);
}

main();
