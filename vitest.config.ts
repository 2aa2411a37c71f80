import { defineConfig } from 'vitest/config';

// Unit tests live next to the code (src/**/*.test.ts) and touch no network.
// Integration tests with real servers and tools (openssl, etcd, sshd, systemd hosts) live in
// test/integration/ and are run by the same command.
export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 600_000,
    pool: 'forks',
    reporters: ['default'],
  },
});
