export * from './stack.ts';
export * from './api.ts';
