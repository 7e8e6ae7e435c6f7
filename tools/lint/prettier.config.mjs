// Prettier settings: the project's existing style, with a line-length limit.
export default {
  printWidth: 140,
  singleQuote: true,
  trailingComma: 'all',
  arrowParens: 'always',
};
