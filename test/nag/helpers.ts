import { App, Stack } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';
import { S3EncryptionChecks } from '../../src';

/** The rule ids the pack reports for the construct at `path` (relative to the app root, e.g. `Stack/Bucket/Resource`). */
export function findingsFor(scope: IConstruct, path: string): string[] {
  const report = new S3EncryptionChecks().validateScope(scope.node.root);
  return report.violations
    .filter((v) => v.violatingResources.some((r) => r.constructPath === path))
    .map((v) => v.ruleName)
    .sort();
}

/** Every finding of the pack in the app, as `ruleName @ path`. */
export function allFindings(scope: IConstruct): string[] {
  const report = new S3EncryptionChecks().validateScope(scope.node.root);
  return report.violations.flatMap((v) => v.violatingResources.map((r) => `${v.ruleName} @ ${r.constructPath}`)).sort();
}

export function newStack(id = 'Stack'): Stack {
  const app = new App();
  return new Stack(app, id, { env: { account: '111111111111', region: 'eu-west-1' } });
}

export const RULES = {
  DEFAULT_ENCRYPTION: S3EncryptionChecks.DEFAULT_ENCRYPTION,
  SINGLE_BUCKET_POLICY: S3EncryptionChecks.SINGLE_BUCKET_POLICY,
  TLS_ONLY: S3EncryptionChecks.TLS_ONLY,
  MINIMUM_TLS_VERSION: S3EncryptionChecks.MINIMUM_TLS_VERSION,
  SSE_C_BLOCKED: S3EncryptionChecks.SSE_C_BLOCKED,
  ENCRYPTION_HEADERS: S3EncryptionChecks.ENCRYPTION_HEADERS,
  BUCKET_KEY: S3EncryptionChecks.BUCKET_KEY,
  KMS_KEY_ROTATION: S3EncryptionChecks.KMS_KEY_ROTATION,
  KMS_KEY_VIA_SERVICE: S3EncryptionChecks.KMS_KEY_VIA_SERVICE,
  KMS_KEY_NOT_ALIAS: S3EncryptionChecks.KMS_KEY_NOT_ALIAS,
  SERVER_ACCESS_LOG_TARGET: S3EncryptionChecks.SERVER_ACCESS_LOG_TARGET,
};

/** Whether `rule` reports the construct at `path`. */
export function flags(scope: IConstruct, rule: string, path: string): boolean {
  return findingsFor(scope, path).includes(rule);
}

/** A bucket policy statement that denies every principal, for L1 tests. */
export function denyStatement(props: {
  sid?: string; action: string | string[]; resource: unknown; condition?: Record<string, unknown>;
}): Record<string, unknown> {
  return {
    ...(props.sid ? { Sid: props.sid } : {}),
    Effect: 'Deny',
    Principal: { AWS: '*' },
    Action: props.action,
    Resource: props.resource,
    ...(props.condition ? { Condition: props.condition } : {}),
  };
}
