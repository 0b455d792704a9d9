export * from './encryption-check';
export * from './continuous/continuous-check';
export * from './stack-settings';
