export * from './stack.ts';
export * from './api.ts';
export * from './control.ts';
