export * from './sleep';
export * from './retry';
export * from './limit';
