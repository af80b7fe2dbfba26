/**
 * Turns a tool's output into the compact JSON a step records:
 *
 *   node parse-output.mjs vitest   vitest.json    counts, failures and skip reasons of a vitest JSON report
 *   node parse-output.mjs selftest selftest.log   counts and FAIL lines of galore_cuda_selftest
 */
import { existsSync, readFileSync } from 'node:fs';

interface VitestAssertion {
  fullName: string;
  status: string;
  failureMessages?: string[];
}

interface VitestReport {
  numTotalTests: number;
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  numTodoTests?: number;
  testResults: { name: string; status: string; message?: string; assertionResults: VitestAssertion[] }[];
}

const clip = (text: string, length = 600): string => (text.length > length ? `${text.slice(0, length)}...` : text);

export function summarizeVitest(report: VitestReport, root = process.cwd()) {
  const failures: { test: string; message: string }[] = [];
  for (const file of report.testResults) {
    const name = file.name.startsWith(root) ? file.name.slice(root.length + 1) : file.name;
    if (file.status === 'failed' && file.message) failures.push({ test: name, message: clip(file.message) });
    for (const assertion of file.assertionResults) {
      if (assertion.status === 'failed')
        failures.push({ test: `${name} > ${assertion.fullName}`, message: clip(assertion.failureMessages?.[0] ?? '') });
    }
  }
  return {
    total: report.numTotalTests,
    passed: report.numPassedTests,
    failed: report.numFailedTests,
    skipped: report.numPendingTests + (report.numTodoTests ?? 0),
    files: report.testResults.length,
    failures: failures.slice(0, 30),
  };
}

export function summarizeSelftest(log: string) {
  const counts = [...log.matchAll(/(\d+) passed, (\d+) failed/g)].at(-1);
  const device = log.split('\n').find((line) => line.startsWith('device: ') || line.startsWith('no CUDA device'));
  return {
    passed: counts ? Number(counts[1]) : null,
    failed: counts ? Number(counts[2]) : null,
    device: device ?? null,
    failures: log
      .split('\n')
      .filter((line) => line.startsWith('FAIL'))
      .slice(0, 30),
  };
}

function main(): void {
  const [kind, file] = process.argv.slice(2);
  if (!file || !existsSync(file)) {
    console.log(JSON.stringify({ error: `no ${kind} output at ${file}` }));
    return;
  }
  const text = readFileSync(file, 'utf8');
  if (kind === 'vitest') console.log(JSON.stringify(summarizeVitest(JSON.parse(text) as VitestReport)));
  else if (kind === 'selftest') console.log(JSON.stringify(summarizeSelftest(text)));
  else throw new Error(`parse-output: unknown kind '${kind}' (vitest or selftest)`);
}

main();
