/** Two projects: the default suite (embedded store, no server needed) and the MongoDB suite (needs MONGODB_URI). */
const transform = { '^.+\\.ts$': ['@swc/jest'] };
module.exports = {
  projects: [
    {
      displayName: 'default',
      testEnvironment: 'node',
      transform,
      testMatch: ['<rootDir>/test/**/*.test.ts'],
      testPathIgnorePatterns: ['<rootDir>/test/mongo/'],
    },
    {
      displayName: 'mongo',
      testEnvironment: 'node',
      transform,
      testMatch: ['<rootDir>/test/mongo/**/*.test.ts'],
    },
  ],
};
