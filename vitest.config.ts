import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Starts DynamoDB Local and s3rver once for the whole run (or points at
    // AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL_DYNAMODB when they are set).
    globalSetup: ['test/helpers/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
