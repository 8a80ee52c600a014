// Type-aware lint for the whole workspace, and the layering of docs/architecture.md as a rule.
import js from '@eslint/js';
import nx from '@nx/eslint-plugin';
import prettier from 'eslint-config-prettier';
import tseslint from 'typescript-eslint';

// Layers (docs/architecture.md, "Layout as built"). Every project carries a `type:` tag and a
// `scope:` tag (its own name) in its package.json. Production code: services use libs only, never
// another service; each lib uses only the libs below it in the documented order; nothing in
// production imports tools, simulators or test support. Tools (tools/*) may use libs, services'
// public entry points (their package exports), the simulators and test support; tests may use
// everything but are never imported by anything else.
const LIB_LAYERS = {
  'scope:errors': [],
  'scope:scrubber': [],
  'scope:resilience': ['scope:errors'],
  'scope:config': ['scope:errors'],
  'scope:phi': ['scope:errors'],
  'scope:logging': ['scope:errors', 'scope:scrubber'],
  'scope:contracts': ['scope:errors', 'scope:config', 'scope:resilience'],
  'scope:kafka': ['scope:errors', 'scope:resilience'],
  'scope:workers': ['scope:errors'],
  'scope:http': ['scope:errors', 'scope:logging', 'scope:resilience'],
  'scope:fhir': ['scope:errors', 'scope:contracts'],
  'scope:hl7': ['scope:errors', 'scope:fhir'],
  'scope:x12': ['scope:errors', 'scope:fhir'],
  'scope:deid': ['scope:errors', 'scope:phi', 'scope:scrubber', 'scope:contracts'],
  'scope:service': [
    'scope:errors',
    'scope:logging',
    'scope:config',
    'scope:contracts',
    'scope:kafka',
    'scope:resilience',
  ],
};
const PRODUCTION = [
  { sourceTag: 'type:service', onlyDependOnLibsWithTags: ['type:lib'] },
  { sourceTag: 'type:lib', onlyDependOnLibsWithTags: ['type:lib'] },
  ...Object.entries(LIB_LAYERS).map(([sourceTag, below]) => ({ sourceTag, onlyDependOnLibsWithTags: below })),
  {
    sourceTag: 'type:tool',
    onlyDependOnLibsWithTags: ['type:lib', 'type:service', 'type:test', 'type:testing', 'type:tool'],
  },
  {
    sourceTag: 'type:test',
    onlyDependOnLibsWithTags: ['type:lib', 'type:service', 'type:test', 'type:testing', 'type:tool'],
  },
  { sourceTag: 'type:testing', onlyDependOnLibsWithTags: [] },
  { sourceTag: 'type:deploy', onlyDependOnLibsWithTags: ['type:lib'] },
];
// Test files (and src/testing/ helpers) of a lib or service may also use other libs, the
// simulators and test support; a service's tests still never import another service.
const TESTS = [
  { sourceTag: 'type:service', onlyDependOnLibsWithTags: ['type:lib', 'type:test', 'type:testing'] },
  { sourceTag: 'type:lib', onlyDependOnLibsWithTags: ['type:lib', 'type:test', 'type:testing'] },
  ...PRODUCTION.filter(
    (c) => !c.sourceTag.startsWith('scope:') && !['type:service', 'type:lib'].includes(c.sourceTag),
  ),
];
// The Kafka client is libs/kafka's business alone (docs/architecture.md, "Kafka client"): everything
// else uses @ehrflow/kafka, so that replacing the client touches one package. The client
// comparison in tools/bench/src/clients drives each candidate client directly, by design.
const KAFKA_CLIENTS = ['kafkajs', '@platformatic/kafka', '@confluentinc/kafka-javascript'];
const KAFKA_CLIENT_OWNERS = ['libs/kafka/**', 'tools/bench/src/clients/**'];
function boundaries(depConstraints) {
  return { enforceBuildableLibDependency: false, allow: [], depConstraints };
}

export default tseslint.config(
  {
    ignores: ['**/dist/**', '**/node_modules/**', '.nx/**', '**/*.config.ts', '**/*.mjs', 'eslint.config.js'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { '@nx': nx },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'no-restricted-syntax': [
        'error',
        {
          selector: "CallExpression[callee.object.name=/^(it|test|describe)$/][callee.property.name='only']",
          message: 'no .only in tests',
        },
      ],
      '@nx/enforce-module-boundaries': ['error', boundaries(PRODUCTION)],
    },
  },
  {
    // Tests and their helpers.
    files: ['**/*.test.ts', '**/*.fixture.ts', '**/src/testing/**/*.ts', '**/src/testing.ts'],
    rules: {
      '@nx/enforce-module-boundaries': ['error', boundaries(TESTS)],
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/unbound-method': 'off',
    },
  },
  {
    files: ['**/*.ts'],
    ignores: KAFKA_CLIENT_OWNERS,
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: KAFKA_CLIENTS.map((name) => ({
            name,
            message: 'Only libs/kafka uses the Kafka client: import what you need from @ehrflow/kafka.',
          })),
          patterns: KAFKA_CLIENTS.map((name) => ({
            group: [`${name}/*`],
            message: 'Only libs/kafka uses the Kafka client: import what you need from @ehrflow/kafka.',
          })),
        },
      ],
    },
  },
  prettier,
);
