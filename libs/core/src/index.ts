export * from './errors';
export * from './config';
export * from './logger';
export * from './shutdown';
export * from './clock';
export * from './retry';
export * from './ops-server';
export * from './random';
