export * from './profiles/schema.js';
