export * from './server';
export * from './fixtures';
export * from './images';
export * from './npf-fixtures';
export * from './self-labelled-stream';
