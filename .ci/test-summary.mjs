// Prints CI's closing line from vitest's JSON report (never from its human output) and fails
// when the report is missing or shows that no test ran.
import { readFileSync } from 'node:fs';

const reportPath = process.argv[2];
if (!reportPath) {
  console.error('usage: node .ci/test-summary.mjs <vitest-json-report>');
  process.exit(2);
}

let report;
try {
  report = JSON.parse(readFileSync(reportPath, 'utf8'));
} catch (error) {
  console.error(`test summary: cannot read vitest's JSON report ${reportPath}: ${error.message}`);
  process.exit(1);
}

const count = (key) => {
  const value = report[key];
  if (!Number.isInteger(value)) {
    console.error(`test summary: ${reportPath} has no integer "${key}" (got ${JSON.stringify(value)})`);
    process.exit(1);
  }
  return value;
};

const passed = count('numPassedTests');
const failed = count('numFailedTests');
const skipped = count('numPendingTests') + count('numTodoTests');
// A suite that failed to load counts no test but is a failure all the same.
const failedSuites = count('numFailedTestSuites');

console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
if (passed + failed === 0) {
  console.error('test summary: no test ran');
  process.exit(1);
}
if (failed > 0 || failedSuites > 0) process.exit(1);
