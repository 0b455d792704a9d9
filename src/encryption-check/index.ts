export * from './encryption-check';
