/**
 * Imported first by the process entry: libraries read NODE_ENV when they load.
 * graphql-js, outside production, checks every type test against copies of
 * itself from another realm, a cost paid on every field of every answer. The
 * gateway runs in production mode unless its operator sets NODE_ENV.
 */
process.env.NODE_ENV ??= 'production';
