// Bundles src/ and socket.io-client into one minified file for the web process to serve.
//   node build.mjs          -> ../bot/web/static/widget.js
//   node build.mjs --size   -> also prints raw and gzipped size and fails above the budget
import { build } from 'esbuild';
import { gzipSync } from 'node:zlib';
import { readFileSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const outfile = resolve(here, process.env.WIDGET_OUT || '../bot/web/static/widget.js');
const BUDGET_GZIP = 60 * 1024;

mkdirSync(dirname(outfile), { recursive: true });
await build({
  entryPoints: [resolve(here, 'src/index.js')],
  outfile,
  bundle: true,
  minify: true,
  format: 'iife',
  target: ['chrome90', 'firefox90', 'safari15', 'edge90'],
  legalComments: 'eof',
  sourcemap: false,
  logLevel: 'warning',
  banner: { js: '/*! ketamine-faq-chat widget | MIT | bundles socket.io-client (MIT) */' },
});

const code = readFileSync(outfile);
const gz = gzipSync(code, { level: 9 }).length;
const line = `widget.js: ${(code.length / 1024).toFixed(1)} KB, ${(gz / 1024).toFixed(1)} KB gzipped -> ${outfile}`;
console.log(line);
if (gz > BUDGET_GZIP) {
  console.error(`widget.js is over its ${BUDGET_GZIP / 1024} KB gzipped budget`);
  process.exit(1);
}
