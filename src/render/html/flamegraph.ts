// One self-contained interactive flamegraph page: template + CSS + JS + the profile payload, all
// inline, with a Content-Security-Policy that allows nothing but those exact inline blocks.
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Profile, ProfileMeta } from '../../model/types.js'
import { VERSION } from '../../version.js'
import { buildDiffPayload, buildPayload, payloadJson, type FindingLike, type FlamePayload } from './payload.js'
import { escapeHtml } from '../escape-html.js'

export type { FindingLike } from './payload.js'

export interface FlamegraphHtmlOptions {
  title?: string
  /** Start in icicle layout (root on top). */
  icicle?: boolean
  /** Regex source: frames matching it are highlighted when the page opens. */
  highlight?: string
  /** Findings to list (default: none). */
  findings?: FindingLike[]
}

export interface DiffFlamegraphHtmlOptions {
  title?: string
  /** Match frames by name only, ignoring file and line (and `:123` line suffixes in names). */
  stripLines?: boolean
  /** 'share': compare each frame's share of its own profile (default); 'absolute': raw values. */
  normalize?: 'share' | 'absolute'
}

const HERE = dirname(fileURLToPath(import.meta.url))
let assets: { template: string; css: string; js: string } | undefined

function loadAssets() {
  if (!assets) {
    const read = (f: string) => readFileSync(join(HERE, f), 'utf8')
    const js = read('page.js')
    if (/<\/script/i.test(js) || /<!--/.test(js)) throw new Error('page.js must not contain "</script" or "<!--"')
    assets = { template: read('template.html'), css: read('page.css'), js }
  }
  return assets
}

const sha256 = (s: string) => `'sha256-${createHash('sha256').update(s, 'utf8').digest('base64')}'`


/** Assemble the page. Exported for tests; callers use the two render functions. */
export function pageFromPayload(payload: FlamePayload): string {
  const a = loadAssets()
  // Only these exact inline blocks may run or style the page; nothing may be fetched.
  const csp = [
    "default-src 'none'",
    `script-src ${sha256(a.js)}`,
    `style-src ${sha256(a.css)}`,
    'img-src data:',
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ')
  const fill: Record<string, string> = {
    CSP: csp,
    VERSION: escapeHtml(VERSION),
    TITLE: escapeHtml(payload.title),
    CSS: a.css,
    DATA: payloadJson(payload),
    JS: a.js,
  }
  return a.template.replace(/\{\{([A-Z]+)\}\}/g, (m, k: string) => fill[k] ?? m)
}

/** `meshprof flamegraph`: the profile as one offline HTML page. */
export function renderFlamegraphHtml(profile: Profile, opts: FlamegraphHtmlOptions = {}): string {
  if (opts.highlight !== undefined && opts.highlight !== '') new RegExp(opts.highlight) // throws on a bad regex, before any work
  const payload = buildPayload(profile, {
    ...(opts.title !== undefined ? { title: opts.title } : {}),
    ...(opts.icicle !== undefined ? { icicle: opts.icicle } : {}),
    ...(opts.highlight ? { highlight: opts.highlight } : {}),
    ...(opts.findings !== undefined ? { findings: opts.findings } : {}),
  })
  return pageFromPayload(payload)
}

/**
 * `meshprof diff --html`: shaped like the after-profile, coloured by growth (red) and shrink
 * (blue) of each frame's total, with a toggle to the before-shape; hover shows before/after/delta.
 */
export function renderDiffFlamegraphHtml(before: Profile, after: Profile, opts: DiffFlamegraphHtmlOptions = {}): string {
  return pageFromPayload(buildDiffPayload(before, after, opts))
}

export { mergedMeta } from '../../model/ops.js'
