import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Interop tests share one kernel: namespaces and TAP names are unique per test file, but running
    // files on both cores at once makes timing-sensitive kernel tests flaky on this 2-core machine.
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ["default"],
  },
});
