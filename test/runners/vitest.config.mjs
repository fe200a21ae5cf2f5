// vitest's configuration for test/runners (only the vitest file; run by test/runners.test.ts)
export default { test: { include: ['leak.vitest.mjs'], testTimeout: 120_000, pool: 'forks' } };
