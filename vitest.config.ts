import { defineConfig } from 'vitest/config';

// Two projects: `unit` runs anywhere with small fakes; `integration` needs the local stack
// (deploy/local/stack up) and talks to a real Kafka, registry, Redis and PostgreSQL.
export default defineConfig({
  test: {
    reporters: process.env.CI ? ['default', ['json', { outputFile: 'reports/vitest.json' }]] : ['default'],
    projects: [
      {
        test: {
          name: 'unit',
          include: [
            'libs/**/src/**/*.test.ts',
            'services/**/src/**/*.test.ts',
            'tools/*/src/**/*.test.ts',
            'test/*/src/**/*.test.ts',
            'deploy/*/src/**/*.test.ts',
          ],
          exclude: ['**/*.int.test.ts', '**/node_modules/**'],
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['{libs,services,tools,test,deploy}/**/src/**/*.int.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
