// Flat config: typescript-eslint's recommended rules over the whole workspace.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: ['**/node_modules/**', '**/.next/**', '**/.tsbuild/**', '.cache/**', '**/coverage/**', 'test-artifacts/**', 'models/**', '.venv-model-export/**', '.venv-text-probe/**', '**/*.d.ts', '**/next-env.d.ts'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2022, sourceType: 'module' },
    rules: {
      // tsc checks names (strict mode, every package in `npm run build`); the few .js config files are Node ESM.
      'no-undef': 'off',
      // Names starting with _ are deliberately unused (destructuring to drop a field, required parameters).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_' }],
    },
  },
);
