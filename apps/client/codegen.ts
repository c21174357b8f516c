// graphql-codegen: typed documents for src/operations/*.graphql, checked against the SDL that
// graphql-edge commits (graphql-edge/schema.graphql). The output is committed; `npm run
// codegen:check` (part of test:unit) fails when regenerating would change it — when the schema
// or an operation changed without `npm run codegen`.
import type { CodegenConfig } from '@graphql-codegen/cli';

const config: CodegenConfig = {
  schema: '../../graphql-edge/schema.graphql',
  documents: ['src/operations/*.graphql'],
  ignoreNoDocuments: false,
  generates: {
    'src/generated/': {
      preset: 'client',
      presetConfig: { fragmentMasking: false, gqlTagName: 'graphql' },
      config: {
        scalars: { DateTime: 'string', JSON: 'unknown', ID: 'string' },
        enumsAsTypes: true,
        useTypeImports: true,
        skipTypename: false,
        avoidOptionals: { field: true, inputValue: false, object: false, defaultValue: false },
        dedupeFragments: true,
      },
    },
  },
};

export default config;
