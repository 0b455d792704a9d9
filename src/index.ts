export { CustomerProvidedKeys, EncryptionHeaders } from './encryption-options';
export * from './bucket-encryption-policy';
export * from './s3-encryption-key';
export * from './encrypted-bucket';
export * from './encryption-check';
export * from './nag/s3-encryption-checks';
export * from './enforce-encryption';
export * from './guardrails';
