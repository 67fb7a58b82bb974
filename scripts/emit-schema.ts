/**
 * Writes the generated SDL to schema/schema.graphql, or with --check fails
 * when the committed file differs from what the code generates.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { createPubSub } from '@graphql-yoga/subscription';
import { lexicographicSortSchema, printSchema } from 'graphql';
import { buildGatewaySchema } from '../src/graphql/schema.js';

const target = new URL('../schema/schema.graphql', import.meta.url);
const sdl = `${printSchema(lexicographicSortSchema(await buildGatewaySchema(createPubSub())))}\n`;
if (process.argv.includes('--check')) {
  const committed = await readFile(target, 'utf8').catch(() => '');
  if (committed !== sdl) {
    console.error('schema/schema.graphql is stale: run `npm run schema` and commit the result');
    process.exit(1);
  }
  console.log('schema/schema.graphql is up to date');
} else {
  await writeFile(target, sdl);
  console.log('wrote schema/schema.graphql');
}
