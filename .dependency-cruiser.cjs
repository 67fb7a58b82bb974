/**
 * Which module of src/ may import which (dependency-cruiser; `npm test` runs
 * `depcruise src`, and a forbidden import fails it).
 *
 * Dependencies point one way (DESIGN.md, "Shape of the code"), from the top:
 *
 *   composition  src/*.ts (app, main, server, logging, metrics, …), src/cli/, src/http/
 *   graphql      src/graphql/    the API edge: the only layer that knows GraphQL
 *   directory    src/directory/  the cache as read
 *   sync         src/sync/       the engine, schedules, snapshot building
 *   ldap         src/ldap/       the only layer that talks LDAP
 *   store        src/store/      the only layer that talks Keyv and Redis
 *   config       src/config/     the only reader of the environment
 *   model        src/model/      the domain's records and errors; imports nothing
 *
 * A module may import its own layer and any layer below it, never one above:
 * a layer that needs a logger or a cache declares the small interface it
 * from the bottom (the Logger of src/model/logger.ts) and the composition
 * root hands it one. Type-only imports count: they tie the layers as much as the others.
 */

/** Bottom first. */
const LAYERS = [
  { name: 'model', path: '^src/model/' },
  { name: 'config', path: '^src/config/' },
  { name: 'store', path: '^src/store/' },
  { name: 'ldap', path: '^src/ldap/' },
  { name: 'sync', path: '^src/sync/' },
  { name: 'directory', path: '^src/directory/' },
  { name: 'graphql', path: '^src/graphql/' },
  { name: 'composition', path: '^src/(cli/|http/|[^/]+$)' },
];

// model/ has a stricter rule of its own (below); the top layer has nothing above it.
const layerRules = LAYERS.flatMap((layer, i) => {
  const below = LAYERS.slice(0, i + 1).map((l) => l.name);
  const above = LAYERS.slice(i + 1);
  if (layer.name === 'model' || above.length === 0) return [];
  return {
    name: `${layer.name}-not-above`,
    comment: `${layer.name} imports only ${below.join(', ')}: ${above.map((l) => l.name).join(', ')} are above it`,
    severity: 'error',
    from: { path: layer.path },
    to: { path: `(${above.map((l) => l.path).join('|')})` },
  };
});

module.exports = {
  forbidden: [
    ...layerRules,
    {
      name: 'model-imports-nothing',
      comment: 'model/ is the bottom: it imports other model/ modules and nothing else, not even a package',
      severity: 'error',
      from: { path: '^src/model/' },
      to: { pathNot: '^src/model/' },
    },
    {
      name: 'ldap-through-its-index',
      comment: 'outside src/ldap/, the LDAP layer is its public API (index.ts) and its types (types.ts)',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/ldap/' },
      to: { path: '^src/ldap/', pathNot: '^src/ldap/(index|types)\\.ts$' },
    },
    {
      name: 'autocomplete-through-its-index',
      comment:
        'the autocomplete index is one function and its worker handle (index.ts); its halves and messages are its own',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/directory/autocomplete/' },
      to: { path: '^src/directory/autocomplete/', pathNot: '^src/directory/autocomplete/index\\.ts$' },
    },
    {
      name: 'only-store-talks-keyv-and-redis',
      comment: 'Keyv, its adapters and the Redis client are used through src/store/ only',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/store/' },
      to: { path: '^node_modules/(keyv|@keyv/[^/]+|redis|@redis/[^/]+)/' },
    },
    {
      name: 'no-circular',
      comment: 'no module reaches itself through its imports',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'not-to-unresolvable',
      comment: 'an import that resolves to nothing would hide an edge from the rules above',
      severity: 'error',
      from: { path: '^src/' },
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // Type-only imports are edges too (`import type { … }`).
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      exportsFields: ['exports'],
      mainFields: ['module', 'main', 'types'],
    },
  },
};
