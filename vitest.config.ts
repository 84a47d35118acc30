import { defineConfig } from 'vitest/config';

// One run covers unit tests (next to each package) and cross-process tests (test/).
// QSB_TEST_REPORT=path adds a JSON report, which .ci/run reads for its summary line.
const report = process.env.QSB_TEST_REPORT;

export default defineConfig({
  test: {
    include: ['packages/*/__tests__/**/*.test.ts', 'apps/*/__tests__/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 120_000,
    // GitHub's workflow parser imports its JSON schema without an import attribute, which Node's ESM
    // loader refuses; transformed by Vite, it loads.
    server: { deps: { inline: ['@actions/workflow-parser'] } },
    reporters: report ? ['default', ['json', { outputFile: report }]] : ['default'],
  },
});
