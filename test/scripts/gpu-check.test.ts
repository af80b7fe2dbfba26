/**
 * scripts/gpu-check.sh without a GPU: `--dry-run` packs (Node at xz -0, cached between runs in
 * node_modules/.cache), copies the tree as it travels with the pack into a temporary folder and runs
 * the check there: the packed Node, vitest and the check scripts must run from the pack, the plans
 * must be computed, and every GPU step must be recorded as skipped with "no GPU". Without a pack,
 * the check must still write its report, the unpack step failed and the rest skipped with a reason.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const script = join(root, 'scripts', 'gpu-check.sh');
const scratch = mkdtempSync(join(tmpdir(), 'gpu-check-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const GPU_STEPS = [
  'cuda-build',
  'cuda-selftest',
  'cuda-conformance',
  'cuda-llama',
  'webgpu',
  'bench-matmul',
  'bench-matmul-torch',
  'bench-1b-adamw',
  'bench-1b-adamw-8bit',
  'bench-1b-galore-8bit',
  'bench-1b-galore-8bit-layerwise',
  'bench-1b-torch-adamw',
  'bench-7b-galore-8bit-layerwise',
];
const ALL_STEPS = ['unpack', 'gpu', ...GPU_STEPS.slice(0, 5), 'plans', 'pack-smoke', ...GPU_STEPS.slice(5)];

interface Step {
  id: string;
  status: string;
  reason: string | null;
  seconds: number;
  timeoutSeconds: number;
  result: Record<string, unknown> | null;
}

/** The parts of the step results the test reads. */
interface UnpackResult {
  node: string;
  nodePath: string;
  manifest: { travel: { totalBytes: number }; app: { modules: string[] } };
}
interface PlansResult {
  plans: Record<string, { totalGB: number }>;
}
interface SmokeResult {
  vitest: { passed: number; failed: number; skipped: number };
  trainStep: { complete: boolean; steps: unknown[] };
  matmul: { complete: boolean };
}

interface Report {
  schema: string;
  mode: string;
  counts: Record<string, number>;
  steps: Step[];
  summary: { training: { id: string; planGB: number | null }[] };
}

/** Runs the script without blocking the worker (a synchronous spawn would stall vitest's RPC). */
function runCheck(args: string[], env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [script, ...args], { cwd: root, env: { ...process.env, ...env }, timeout: 280_000 });
    let output = '';
    child.stdout.on('data', (chunk) => {
      output += chunk;
    });
    child.stderr.on('data', (chunk) => {
      output += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

describe('scripts/gpu-check.sh', () => {
  it('--dry-run packs, unpacks, runs Node, vitest and the plans from the pack, and skips every GPU step', async () => {
    const out = join(scratch, 'dry');
    const { code, output } = await runCheck(['--dry-run', '--out', out], {
      GPU_CHECK_PACK_DIR: join(root, 'node_modules', '.cache', 'gpu-check-test-pack'),
      GPU_CHECK_XZ_LEVEL: '0',
    });
    expect(code, output).toBe(0);
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as Report;
    expect(report.schema).toBe('galore-ts/gpu-check@1');
    expect(report.mode).toBe('dry-run');
    expect(report.steps.map((s) => s.id)).toEqual(ALL_STEPS);
    expect(report.counts).toEqual({ ok: 3, failed: 0, skipped: ALL_STEPS.length - 3 });
    for (const step of report.steps) {
      expect(step.seconds, step.id).toBeGreaterThanOrEqual(0);
      expect(step.timeoutSeconds, step.id).toBeGreaterThan(0);
    }
    const byId = new Map(report.steps.map((s) => [s.id, s]));

    expect(byId.get('unpack')?.status).toBe('ok');
    const unpack = byId.get('unpack')?.result as unknown as UnpackResult;
    expect(unpack.node).toBe(process.version);
    expect(unpack.nodePath).not.toBe(process.execPath);
    expect(unpack.manifest.travel.totalBytes).toBeLessThan(64 * 2 ** 20);
    const modules = unpack.manifest.app.modules;
    expect(modules.some((m) => m.startsWith('vitest@'))).toBe(true);
    expect(modules.filter((m) => /tensorflow|^webgpu@/.test(m))).toEqual([]);

    expect(byId.get('plans')?.status).toBe('ok');
    const plans = byId.get('plans')?.result as unknown as PlansResult;
    expect(plans.plans['bench-7b-galore-8bit-layerwise']?.totalGB).toBeCloseTo(20.73, 2);
    expect(report.summary.training.every((t) => t.planGB !== null && t.planGB > 0)).toBe(true);

    expect(byId.get('pack-smoke')?.status).toBe('ok');
    const smoke = byId.get('pack-smoke')?.result as unknown as SmokeResult;
    expect(smoke.vitest).toMatchObject({ failed: 0, passed: 0 });
    expect(smoke.vitest.skipped).toBeGreaterThan(0);
    expect(smoke.trainStep.complete).toBe(true);
    expect(smoke.trainStep.steps).toHaveLength(2);
    expect(smoke.matmul.complete).toBe(true);

    for (const id of ['gpu', ...GPU_STEPS]) {
      expect(byId.get(id)?.status, id).toBe('skipped');
      expect(byId.get(id)?.reason, id).toBe('no GPU (dry run)');
    }
    expect(readFileSync(join(out, 'summary.md'), 'utf8')).toContain('| bench-7b-galore-8bit-layerwise |');
    expect(existsSync(join(out, 'gpu-check.log'))).toBe(true);
  }, 300_000);

  it('still writes its report when the pack is missing: unpack fails, every later step says why it skipped', async () => {
    const out = join(scratch, 'no-pack');
    const { code, output } = await runCheck(['--out', out], {
      GPU_CHECK_PACK_DIR: join(scratch, 'absent'),
      GPU_CHECK_NO_GPU: 'test',
    });
    expect(code, output).toBe(1);
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as Report;
    expect(report.steps.map((s) => s.id)).toEqual(ALL_STEPS);
    expect(report.steps[0]).toMatchObject({ id: 'unpack', status: 'failed' });
    expect(report.steps[0]?.reason).toMatch(/no pack at .*--pack/);
    expect(report.steps[1]).toMatchObject({ id: 'gpu', status: 'skipped', reason: 'no GPU (test)' });
    for (const step of report.steps.slice(2)) expect(step, step.id).toMatchObject({ status: 'skipped' });
    expect(report.steps.slice(2).every((s) => s.reason === 'no Node: the unpack step failed')).toBe(true);
  });
});
