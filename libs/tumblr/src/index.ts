export * from './standin/index';
