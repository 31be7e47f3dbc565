export * from './respond';
export * from './request';
export * from './router';
export * from './ops';
