// Mutation testing of the rule modules (issue 16): `npm run test:mutation`.
// Stryker changes one thing at a time in these modules and runs the unit tests that cover it;
// a mutant no test notices is a rule the tests do not pin down. The run fails below `break`.
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  packageManager: 'npm',
  testRunner: 'jest',
  testRunnerNodeArgs: ['--experimental-vm-modules'],
  jest: {
    projectType: 'custom',
    configFile: 'jest.unit.config.js',
    enableFindRelatedTests: false,
  },
  checkers: ['typescript'],
  tsconfigFile: 'tsconfig.json',
  typescriptChecker: { prioritizePerformanceOverAccuracy: true },
  mutate: [
    'src/repos/permissions.ts',
    'src/registry/routes.ts',
    'src/auth/scopes.ts',
    'src/registry/digest.ts',
    'src/registry/manifest.ts',
    'src/registry/names.ts',
    'src/registry/http-util.ts',
    'src/config/config.ts',
  ],
  coverageAnalysis: 'perTest',
  concurrency: 2,
  timeoutMS: 20000,
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/index.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  thresholds: { high: 95, low: 90, break: 90 },
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
};
