export * from './client';
export * from './stack';
export * from './local-env';
export * from './research-api';
