// Copy non-TS sources (HTML/CSS/JS templates, .cjs agent files) next to their compiled modules.
import { cpSync, readdirSync, statSync, mkdirSync } from 'node:fs'
import { join, extname } from 'node:path'
const ASSET_EXT = new Set(['.html', '.css', '.js', '.cjs', '.json', '.c'])
function walk(dir) {
  for (const e of readdirSync(dir)) {
    const p = join(dir, e)
    if (statSync(p).isDirectory()) walk(p)
    else if (ASSET_EXT.has(extname(e))) {
      const dest = join('dist', p)
      mkdirSync(join(dest, '..'), { recursive: true })
      cpSync(p, dest)
    }
  }
}
walk('src')
