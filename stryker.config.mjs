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
    // The unit tests of the mutated modules (and of what is built on them).
    config: {
      testMatch: [
        'accept',
        'auth-config',
        'auth-permissions',
        'auth-scopes',
        'config',
        'config-rules',
        'digest',
        'http-util',
        'key-scopes-robots',
        'manifest',
        'names',
        'namespace-standing',
        'patterns',
        'rules',
      ].map((n) => `<rootDir>/test/unit/${n}.spec.ts`),
    },
    // Each mutant runs only the test files that import the mutated module.
    enableFindRelatedTests: true,
  },
  // No type checker: a mutant that would not compile is run anyway (Stryker turns type checks
  // off in mutated files) and counts against the score if no test notices it, so the score is
  // if anything pessimistic; the checker made a run several times slower on a 2-core machine.
  mutate: [
    'src/repos/permissions.ts',
    'src/registry/routes.ts',
    'src/auth/scopes.ts',
    'src/registry/digest.ts',
    'src/registry/manifest.ts',
    'src/registry/names.ts',
    'src/registry/http-util.ts',
    'src/config/config.ts',
    'src/common/patterns.ts',
  ],
  coverageAnalysis: 'perTest',
  // Static mutants (module-level constants such as the route patterns) need every test file
  // re-imported per mutant, which in ESM jest costs half a minute each; they are left out.
  ignoreStatic: true,
  // Results are kept in reports/stryker-incremental.json: a later run re-tests only mutants whose
  // code or covering tests changed.
  incremental: true,
  incrementalFile: 'reports/stryker-incremental.json',
  concurrency: 2,
  timeoutMS: 20000,
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/index.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  thresholds: { high: 95, low: 90, break: 90 },
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
};
