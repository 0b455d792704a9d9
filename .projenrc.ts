import { awscdk, javascript } from "projen";
const project = new awscdk.AwsCdkConstructLibrary({
  author: "cdk-s3-encryption maintainers",
  authorAddress: "maintainers@cdk-s3-encryption.invalid",
  cdkVersion: "2.189.1",
  defaultReleaseBranch: "main",
  jsiiVersion: "~6.0.0",
  name: "cdk-s3-encryption",
  packageManager: javascript.NodePackageManager.NPM,
  projenrcTs: true,
  repositoryUrl: "https://github.com/cdk-s3-encryption/cdk-s3-encryption.git",

  // deps: [],                /* Runtime dependencies of this module. */
  // description: undefined,  /* The description is just a string that helps people understand the purpose of the package. */
  // devDeps: [],             /* Build dependencies for this module. */
  // packageName: undefined,  /* The "name" in package.json. */
});
project.synth();