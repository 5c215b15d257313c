// One jest run over every package's unit tests and the cross-package tests in test/.
// Packages resolve each other to their TypeScript sources, so unit tests need no build;
// integration tests start the built CLIs (npm test builds first).
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/proto', '<rootDir>/agent', '<rootDir>/collector', '<rootDir>/lab', '<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
  modulePathIgnorePatterns: ['<rootDir>/.*/dist/'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.test.json' }],
  },
  moduleNameMapper: {
    '^@guestbench/(proto|agent|collector|lab)$': '<rootDir>/$1/src/index.ts',
  },
  testTimeout: 60_000,
};
