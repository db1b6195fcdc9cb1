// Copy non-TS sources (HTML/CSS/JS templates, .cjs agent files) next to their compiled modules,
// and join the flamegraph page's parts into the one script the page ships.
import { cpSync, readdirSync, readFileSync, statSync, mkdirSync, writeFileSync } from 'node:fs'
import { join, extname } from 'node:path'
const ASSET_EXT = new Set(['.html', '.css', '.js', '.cjs', '.json', '.c'])
const PAGE_PARTS = join('src', 'render', 'html', 'page')
function walk(dir) {
  for (const e of readdirSync(dir)) {
    const p = join(dir, e)
    if (p === PAGE_PARTS) continue
    if (statSync(p).isDirectory()) walk(p)
    else if (ASSET_EXT.has(extname(e))) {
      const dest = join('dist', p)
      mkdirSync(join(dest, '..'), { recursive: true })
      cpSync(p, dest)
    }
  }
}
walk('src')

// The page is one closure (one CSP hash, nothing fetched); its sections live in page/NN-name.js,
// joined in file-name order inside the closure. Each part sees the names the earlier parts declare.
const parts = readdirSync(PAGE_PARTS).filter((f) => /^\d\d-.*\.js$/.test(f)).sort()
const page = [
  '// meshprof flamegraph page. Reads the JSON payload embedded in the page, draws on one canvas.',
  '// Frame names are untrusted: they only ever reach the page through textContent and fillText.',
  ';(function () {',
  "  'use strict'",
  ...parts.map((f) => readFileSync(join(PAGE_PARTS, f), 'utf8').replace(/\n$/, '')),
  '})()',
  '',
].join('\n')
writeFileSync(join('dist', PAGE_PARTS + '.js'), page)
