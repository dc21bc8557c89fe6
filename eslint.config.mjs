// Lint: typescript-eslint's recommended rules (syntax-level, fast) over every package, service and test.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', '.omniaffect/**', 'reports/**', 'artifacts/**', 'models/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    // Node's globals (and the web APIs Node provides: fetch, URL, AbortSignal, …) from the `globals` package,
    // not a hand-kept list that misses each newly used one.
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // Generic RPC plumbing (gRPC method tables, thread calls) is typed at the edges.
      '@typescript-eslint/no-unsafe-function-type': 'off',
      '@typescript-eslint/no-require-imports': 'off',
    },
  },
);
