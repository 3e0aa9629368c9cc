import {defineConfig} from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // End-to-end tests spawn the real CLI and wait for real sockets; these are
    // generous ceilings, not timings.
    testTimeout: 60_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // End-to-end files mostly wait on sockets and child processes, not the
    // CPU: a few at a time keep two cores busy (vitest's default here is one).
    maxWorkers: 4,
  },
})
