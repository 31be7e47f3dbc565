export * from './respond';
export * from './request';
export * from './router';
export * from './ops';
export * from './rate-limit';
export * from './operator-access';
