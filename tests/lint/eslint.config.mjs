// ESLint flat config for the admin web UI (shared/ui/*.js: browser ES modules, no build step).
// Run from the repository root by scripts/ui_lint.sh; paths are relative to the root (basePath).
import js from "@eslint/js";
import globals from "globals";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));
const ui = { basePath: root, files: ["shared/ui/**/*.js"] };

export default [
  { ...ui, ...js.configs.recommended },
  {
    ...ui,
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: "module",
      globals: { ...globals.browser },
    },
    rules: {
      // Screens are composed of small functions: a render, its handlers, its helpers.
      "max-lines-per-function": ["error", { max: 60, skipBlankLines: false, skipComments: false }],
      "no-unused-vars": ["error", { args: "after-used", argsIgnorePattern: "^_" }],
      eqeqeq: ["error", "always"],
      "no-var": "error",
      "prefer-const": "error",
    },
  },
];
