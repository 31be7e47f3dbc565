export * from './emotions';
export * from './post';
export * from './scored-post';
export * from './alert';
export * from './topics';
export * from './codec';
