// Bundles web/src with esbuild into OUT: index.html (no-cache) and assets/<name>-<HASH>.js/.css
// (hashed, cached for a year by mailroomd), each with a gzip twin (.gz) mailroomd sends to
// clients that accept gzip. Prints the compressed size of the first screen's JS + CSS and fails
// past the budget (issue 19: under 300 KB).
//   WEB_NODE_MODULES=<dir>/node_modules node web/build.mjs OUT
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(process.env.WEB_NODE_MODULES || path.join(here, 'node_modules'), 'x.js'));
const esbuild = require('esbuild');
const out = path.resolve(process.argv[2] || path.join(here, 'dist'));
const BUDGET = 300 * 1024;

fs.rmSync(out, { recursive: true, force: true });
fs.mkdirSync(path.join(out, 'assets'), { recursive: true });

const result = await esbuild.build({
  entryPoints: { app: path.join(here, 'src/main.ts'), style: path.join(here, 'src/style.css') },
  bundle: true,
  minify: true,
  format: 'esm',
  // The composer is imported lazily (main.ts): a chunk of its own, not on the first screen.
  splitting: true,
  chunkNames: 'chunk-[hash]',
  target: ['chrome110', 'firefox110', 'safari16'],
  outdir: path.join(out, 'assets'),
  entryNames: '[name]-[hash]',
  metafile: true,
  legalComments: 'none',
  logLevel: 'warning',
});

const outputs = Object.keys(result.metafile.outputs).map((f) => path.relative(out, path.resolve(f)));
const outputOf = (entry) => Object.keys(result.metafile.outputs)
  .find((f) => result.metafile.outputs[f].entryPoint === path.relative(process.cwd(), path.join(here, entry)));
const js = path.relative(out, path.resolve(outputOf('src/main.ts')));
const css = path.relative(out, path.resolve(outputOf('src/style.css')));
// The first screen: the app, the chunks it imports statically (not the lazy ones), the CSS.
const firstScreenFiles = new Set([css]);
const walk = (f) => {
  const rel = path.relative(out, path.resolve(f));
  if (firstScreenFiles.has(rel)) return;
  firstScreenFiles.add(rel);
  for (const i of result.metafile.outputs[f].imports) if (i.kind === 'import-statement') walk(i.path);
};
walk(outputOf('src/main.ts'));
const html = fs.readFileSync(path.join(here, 'src/index.html'), 'utf8')
  .replace('%APP_JS%', js.replace(/^assets\//, 'assets/'))
  .replace('%APP_CSS%', css);
fs.writeFileSync(path.join(out, 'index.html'), html);

let firstScreen = 0;
for (const rel of [...outputs, 'index.html']) {
  const file = path.join(out, rel);
  const gz = zlib.gzipSync(fs.readFileSync(file), { level: 9 });
  fs.writeFileSync(file + '.gz', gz);
  if (firstScreenFiles.has(rel)) firstScreen += gz.length;
}
console.log(`webmail: built ${out}: first screen JS+CSS ${(firstScreen / 1024).toFixed(1)} KB gzip ` +
            `(budget ${BUDGET / 1024} KB)`);
fs.writeFileSync(path.join(out, 'size.json'), JSON.stringify({ firstScreenGzipBytes: firstScreen }) + '\n');
if (firstScreen > BUDGET) {
  console.error('webmail: the first screen is over budget');
  process.exit(1);
}
