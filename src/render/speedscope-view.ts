// `meshprof view`: one offline HTML file made of the `speedscope` package's own viewer
// (node_modules/speedscope/dist/release) with a profile inside.
//
// How the embedded profile gets in: speedscope's `#localProfilePath=<path>` hash parameter makes it
// define `window.speedscope.loadFileFromBase64(name, base64)` and then append
// `<script src="file:///<path>">` to <head>, expecting that script to call it (this is how its own
// CLI opens a file). A small inline script that runs before the bundle sets that hash parameter and
// intercepts the appended script element: instead of loading anything it calls loadFileFromBase64
// with the profile embedded in the page. Styles, the font and the favicon are inlined as text and
// data: URLs, so the page makes no request at all (its CSP forbids any).
import { createHash } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { MeshprofError, EXIT } from '../util/errors.js'
import { escapeHtml } from './escape-html.js'

const MARKER = 'meshprof-embedded-profile'

let cachedDir: string | undefined
let cachedShell: { css: string; js: string; iconLink: string } | undefined

/** The speedscope release directory shipped in the npm package. */
export function speedscopeReleaseDir(): string {
  if (cachedDir) return cachedDir
  let dir: string
  try {
    const req = createRequire(import.meta.url)
    dir = join(dirname(req.resolve('speedscope/package.json')), 'dist', 'release')
  } catch {
    throw new MeshprofError('view: the speedscope package is not installed (npm install speedscope)', EXIT.TOOL)
  }
  if (!existsSync(join(dir, 'index.html'))) throw new MeshprofError(`view: speedscope viewer not found in ${dir}`, EXIT.TOOL)
  cachedDir = dir
  return dir
}

export function speedscopeVersion(): string {
  try {
    return JSON.parse(readFileSync(join(speedscopeReleaseDir(), '..', '..', 'package.json'), 'utf8')).version
  } catch {
    return 'unknown'
  }
}

const sha256 = (s: string) => `'sha256-${createHash('sha256').update(s, 'utf8').digest('base64')}'`

const MIME: Record<string, string> = { woff2: 'font/woff2', woff: 'font/woff', ttf: 'font/ttf', png: 'image/png', ico: 'image/x-icon', svg: 'image/svg+xml' }

function dataUrl(file: string): string {
  const ext = file.slice(file.lastIndexOf('.') + 1).toLowerCase()
  return `data:${MIME[ext] ?? 'application/octet-stream'};base64,${readFileSync(file).toString('base64')}`
}

/** The viewer's stylesheet (font inlined), bundle and favicon, read once. */
function viewerAssets(): { css: string; js: string; iconLink: string } {
  if (cachedShell) return cachedShell
  const dir = speedscopeReleaseDir()
  const index = readFileSync(join(dir, 'index.html'), 'utf8')
  const cssHref = /<link rel="stylesheet" href="([^"]+)">/.exec(index)?.[1]
  const jsSrc = /<script src="([^"]+)"><\/script>/.exec(index)?.[1]
  if (!cssHref || !jsSrc) throw new MeshprofError(`view: unexpected speedscope index.html in ${dir}`, EXIT.TOOL)
  const css = readFileSync(join(dir, cssHref), 'utf8').replace(/url\("?\.?\/?([^")]+)"?\)/g, (m, f: string) => (existsSync(join(dir, f)) ? `url("${dataUrl(join(dir, f))}")` : m))
  const js = readFileSync(join(dir, jsSrc), 'utf8')
  if (/<\/script/i.test(js) || /<\/style/i.test(css)) throw new MeshprofError('view: speedscope bundle contains "</script"', EXIT.TOOL)
  const icon = /<link rel="icon" type="image\/png" sizes="32x32" href="([^"]+)">/.exec(index)?.[1]
  const iconLink = icon && existsSync(join(dir, icon)) ? `<link rel="icon" type="image/png" href="${dataUrl(join(dir, icon))}">` : ''
  cachedShell = { css, js, iconLink }
  return cachedShell
}

/** Runs before the bundle: points speedscope at the embedded profile, never at the file system. */
function loaderScript(): string {
  return `(function () {
  var MARK = ${JSON.stringify(MARKER)};
  var h = window.location.hash || '';
  if (h.indexOf('localProfilePath=') < 0 && h.indexOf('profileURL=') < 0) {
    var title = JSON.parse(document.getElementById('meshprof-profile-meta').textContent).name;
    var rest = h.replace(/^#/, '');
    window.location.replace('#localProfilePath=' + MARK + '&title=' + encodeURIComponent(title) + (rest ? '&' + rest : ''));
  }
  var orig = Node.prototype.appendChild;
  Node.prototype.appendChild = function (child) {
    if (child && child.tagName === 'SCRIPT' && typeof child.src === 'string' && child.src.indexOf(MARK) >= 0) {
      Node.prototype.appendChild = orig;
      var name = JSON.parse(document.getElementById('meshprof-profile-meta').textContent).name;
      var b64 = document.getElementById('meshprof-profile').textContent.replace(/\\s+/g, '');
      setTimeout(function () { window.speedscope.loadFileFromBase64(name, b64); }, 0);
      return child;
    }
    return orig.call(this, child);
  };
})();`
}


export interface SpeedscopeViewOptions {
  /** File name speedscope shows (and uses to pick an importer by extension). */
  name: string
  /** Page title. */
  title?: string
}

/**
 * One offline HTML page: speedscope's viewer with `profileText` (any format speedscope imports;
 * meshprof passes its speedscope JSON export) embedded as base64.
 */
export function renderSpeedscopeHtml(profileText: string | Uint8Array, opts: SpeedscopeViewOptions): string {
  const { css, js, iconLink } = viewerAssets()
  const loader = loaderScript()
  const b64 = (typeof profileText === 'string' ? Buffer.from(profileText, 'utf8') : Buffer.from(profileText)).toString('base64')
  const csp = [
    "default-src 'none'",
    // speedscope's Rust demangler is inline WebAssembly; everything else is the two scripts.
    `script-src ${sha256(loader)} ${sha256(js)} 'wasm-unsafe-eval'`,
    // speedscope (aphrodite) injects <style> elements at run time.
    "style-src 'unsafe-inline'",
    'font-src data:',
    'img-src data: blob:',
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ')
  const title = opts.title ?? `${opts.name} - speedscope`
  const meta = JSON.stringify({ name: opts.name }).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
  // Pieces are joined, never substituted into each other, so no content is ever rescanned.
  return [
    '<!DOCTYPE html>',
    '<html>',
    '<head>',
    '<meta charset="UTF-8">',
    `<meta http-equiv="Content-Security-Policy" content="${csp}">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1.0">',
    `<meta name="generator" content="meshprof view (speedscope ${escapeHtml(speedscopeVersion())})">`,
    `<title>${escapeHtml(title)}</title>`,
    '<style>' + css + '</style>',
    iconLink,
    '</head>',
    '<body>',
    '<script type="application/json" id="meshprof-profile-meta">' + meta + '</script>',
    '<script type="text/plain" id="meshprof-profile">' + b64 + '</script>',
    '<script>' + loader + '</script>',
    '<script>' + js + '</script>',
    '</body>',
    '</html>',
    '',
  ].join('\n')
}
