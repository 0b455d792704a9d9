export { OrganizationTarget } from './organization-target';
export * from './platform-role';
export * from './s3-encryption-guardrails';
