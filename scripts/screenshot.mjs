#!/usr/bin/env node
// Screenshot of a meshprof HTML page (flamegraph, diff or view) in headless Chromium.
// Usage: node scripts/screenshot.mjs <page.html> <out.png> [--width 1200] [--height 720] [--search TEXT]
//          [--finding N] (click the Nth finding, 1-based) [--icicle] [--full] (whole page)
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { hasChromium, launchChromium, CHROMIUM } from './chromium.mjs'

const args = process.argv.slice(2)
const pos = []
const opt = { width: 1200, height: 720, search: undefined, full: false, finding: 0, icicle: false }
for (let i = 0; i < args.length; i++) {
  const a = args[i]
  if (a === '--width') opt.width = Number(args[++i])
  else if (a === '--height') opt.height = Number(args[++i])
  else if (a === '--search') opt.search = args[++i]
  else if (a === '--full') opt.full = true
  else if (a === '--icicle') opt.icicle = true
  else if (a === '--finding') opt.finding = Number(args[++i])
  else pos.push(a)
}
if (pos.length !== 2 || !(opt.width > 0) || !(opt.height > 0)) {
  process.stderr.write('usage: node scripts/screenshot.mjs <page.html> <out.png> [--width N] [--height N] [--search TEXT] [--finding N] [--icicle] [--full]\n')
  process.exit(2)
}
if (!hasChromium()) {
  process.stderr.write(`screenshot: Chromium not found at ${CHROMIUM} (apt-get install -y chromium, or set MESHPROF_CHROMIUM)\n`)
  process.exit(6)
}
const [html, png] = pos
const browser = await launchChromium()
try {
  const page = await browser.newPage({ viewport: { width: opt.width, height: opt.height }, deviceScaleFactor: 1 })
  const errors = []
  page.on('pageerror', (e) => errors.push(e.message))
  await page.goto(pathToFileURL(resolve(html)).href, { waitUntil: 'load' })
  const isFlame = await page.evaluate(() => 'meshprof-data' in window || !!document.getElementById('meshprof-data'))
  if (isFlame) {
    await page.waitForFunction(() => window.__meshprof?.ready === true, null, { timeout: 15000 })
    if (opt.icicle) await page.click('#btn-icicle')
    if (opt.finding > 0) await page.locator('#findings-list button').nth(opt.finding - 1).click()
    if (opt.search) await page.fill('#search', opt.search)
  } else {
    // speedscope: wait until a profile is on screen (its canvas has been sized)
    await page.waitForFunction(() => document.querySelectorAll('canvas').length > 0, null, { timeout: 15000 })
    await page.waitForTimeout(300)
  }
  if (errors.length) throw new Error(`page error: ${errors[0]}`)
  await page.screenshot({ path: png, fullPage: opt.full })
  process.stderr.write(`screenshot: wrote ${png}\n`)
} finally {
  await browser.close()
}
