export * from './service-runtime';
export * from './run-service';
export * from './readiness';
export * from './connection-outage';
