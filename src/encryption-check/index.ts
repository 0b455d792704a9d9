export * from './encryption-check';
export * from './continuous/continuous-check';
