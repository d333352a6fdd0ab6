// Module hooks standing in for a sqlite3 whose native addon was never built: importing it works,
// opening a database throws from a callback, as `bindings` does when it loads the addon lazily.
const BROKEN = `
class Database {
  constructor(_file, callback) {
    setImmediate(() => {
      throw new Error('Could not locate the bindings file. Tried: build/Release/node_sqlite3.node');
    });
  }
}
export default { Database, verbose() { return this; } };
export { Database };
`;

export async function resolve(specifier, context, next) {
  if (specifier === 'sqlite3') return { url: 'broken-sqlite3:', shortCircuit: true };
  return next(specifier, context);
}

export async function load(url, context, next) {
  if (url === 'broken-sqlite3:') return { format: 'module', source: BROKEN, shortCircuit: true };
  return next(url, context);
}
