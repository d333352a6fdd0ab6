export * from './chat/index.js';
export * from './enhancement/index.js';
export * from './linking/index.js';
export * from './navigation/index.js';
