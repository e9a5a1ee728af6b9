// Rollup bundles nothing from node_modules without node-resolve, and copies no asset without a
// plugin: import-meta-assets handles `new URL('…', import.meta.url)`, the pattern the package uses.
import { nodeResolve } from '@rollup/plugin-node-resolve';
import { importMetaAssets } from '@web/rollup-plugin-import-meta-assets';

export default {
  input: 'main.js',
  output: { dir: 'dist', format: 'es' },
  plugins: [nodeResolve({ browser: true }), importMetaAssets()],
};
