/**
 * Browser files served by the gateway itself, from this folder and from
 * node_modules: no CDN, no outside network. Only the files listed here are
 * served (no directory listing, no path from the request reaches the disk).
 */
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);

function packageFile(pkg: string, file: string): string {
  return path.join(path.dirname(require.resolve(`${pkg}/package.json`)), file);
}

const HERE = import.meta.dirname;

export interface Asset {
  readonly file: string;
  readonly type: string;
}

const JS = 'text/javascript; charset=utf-8';
const CSS = 'text/css; charset=utf-8';
const HTML = 'text/html; charset=utf-8';

/** URL path under /assets/ → file. */
export const ASSETS: Readonly<Record<string, Asset>> = {
  'status.js': { file: path.join(HERE, 'assets', 'status.js'), type: JS },
  'status.css': { file: path.join(HERE, 'assets', 'status.css'), type: CSS },
  'graphiql-setup.js': { file: path.join(HERE, 'assets', 'graphiql-setup.js'), type: JS },
  // The console: ES modules importing each other by these names (no build step).
  ...Object.fromEntries(
    [
      'console',
      'console-api',
      'console-dom',
      'console-cron',
      'console-connection',
      'console-connection-form',
      'console-directory',
    ].map((name) => [`${name}.js`, { file: path.join(HERE, 'assets', `${name}.js`), type: JS }]),
  ),
  'graphql-ws.min.js': { file: packageFile('graphql-ws', 'umd/graphql-ws.min.js'), type: JS },
  'react.production.min.js': { file: packageFile('react', 'umd/react.production.min.js'), type: JS },
  'react-dom.production.min.js': {
    file: packageFile('react-dom', 'umd/react-dom.production.min.js'),
    type: JS,
  },
  'graphiql.min.js': { file: packageFile('graphiql', 'graphiql.min.js'), type: JS },
  'graphiql.min.css': { file: packageFile('graphiql', 'graphiql.min.css'), type: CSS },
};

export const PAGES = {
  status: { file: path.join(HERE, 'assets', 'status.html'), type: HTML },
  graphiql: { file: path.join(HERE, 'assets', 'graphiql.html'), type: HTML },
} as const satisfies Record<string, Asset>;
