export * from './types';
export * from './probe';
