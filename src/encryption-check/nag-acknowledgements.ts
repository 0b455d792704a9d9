import { Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';

/** Placeholder: filled in from what the packs report. */
export function acknowledgeFindings(_scope: Construct, _what: {
  handler?: lambda.Function; frameworkRole?: iam.Role; provider?: cr.Provider; importedObjects?: string;
}): void {
  void Validations;
}
