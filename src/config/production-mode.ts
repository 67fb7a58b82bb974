/**
 * The one write to the environment, and why it cannot be a value passed on:
 * graphql-js reads NODE_ENV once, when it loads, and outside production it
 * checks every type test against copies of itself from another realm, a cost
 * paid on every field of every answer. So the process entries (src/main.ts,
 * src/cli/main.ts) import this first, before anything loads graphql; the
 * gateway runs in production mode unless its operator sets NODE_ENV.
 */
process.env.NODE_ENV ??= 'production';
