import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

// CI's closing line comes from vitest's JSON report; these runs feed the script made-up reports.
const script = join(import.meta.dirname, '../../.ci/test-summary.mjs');

function summarise(report: unknown) {
  const path = join(mkdtempSync(join(tmpdir(), 'galore-summary-')), 'report.json');
  writeFileSync(path, typeof report === 'string' ? report : JSON.stringify(report));
  const run = spawnSync(process.execPath, [script, path], { encoding: 'utf8' });
  return { status: run.status, stdout: run.stdout.trim(), stderr: run.stderr };
}

const report = (passed: number, failed: number, pending: number, failedSuites = 0) => ({
  numPassedTests: passed,
  numFailedTests: failed,
  numPendingTests: pending,
  numTodoTests: 1,
  numFailedTestSuites: failedSuites,
});

describe('CI test summary', () => {
  it('prints the counts from the report, skipped including todo, and passes', () => {
    expect(summarise(report(12, 0, 3))).toMatchObject({ status: 0, stdout: '12 passed, 0 failed, 4 skipped' });
  });

  it('fails when a test failed or a suite did not load', () => {
    expect(summarise(report(12, 2, 0))).toMatchObject({ status: 1, stdout: '12 passed, 2 failed, 1 skipped' });
    expect(summarise(report(12, 0, 0, 1)).status).toBe(1);
  });

  it('fails when no test ran', () => {
    const run = summarise(report(0, 0, 5));
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('no test ran');
  });

  it('fails on a missing or malformed report, naming it', () => {
    const run = summarise('{"numPassedTests": 3');
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('report.json');
    expect(summarise({ numPassedTests: 3 }).stderr).toContain('numFailedTests');
  });
});
