export type { HttpOptions, McpServerFactory, RunningHttpServer } from './http.js';
export { startHttpServer } from './http.js';
export { fail, ok } from './result.js';
export type { ConvokitMcpOptions } from './server.js';
export { createConvokitMcpServer } from './server.js';
export type { ConvokitServices } from './services.js';
export { createConvokitServices } from './services.js';
