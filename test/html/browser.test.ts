// The flamegraph, differential flamegraph and speedscope pages in real headless Chromium:
// loaded from file:// with no request but the file itself and no console error; zoom, search,
// layout toggle and findings change what is drawn (checked on the canvas pixels, not only on the
// page's own bookkeeping); hostile frame names stay text.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { spawnSync } from 'node:child_process'
import type { Browser, Page } from 'playwright-core'
import { runCli, ROOT } from '../helpers/cli.js'
import { CHROMIUM_SKIP, launchBrowser, openPage, type Opened } from './browser.js'
import { loadProfile } from '../../src/formats/index.js'
import { renderDiffFlamegraphHtml, renderFlamegraphHtml } from '../../src/render/html/flamegraph.js'

const dir = mkdtempSync(join(tmpdir(), 'meshprof-html-'))
const HOSTILE = '<img src=x onerror=alert(1)>'
const HOSTILE2 = '</script><script>alert(2)</script>'
const HOSTILE3 = '"><svg onload=alert(3)>'
const HOSTILE_TITLE = '<script>alert(4)</script> & "gossip"'
const folded = join(dir, 'mesh.folded')
writeFileSync(folded, [
  'main;runGossip;joinPeers;connectPeer;tls.connect 60',
  'main;runGossip;emit 30',
  'main;idle 10',
  `main;${HOSTILE} 5`,
  `main;${HOSTILE2} 2`,
  `main;${HOSTILE3} 2`,
  '',
].join('\n'))
const TOTAL = 109

type Rect = { name: string | null; node: number; merged: number; x: number; y: number; w: number; h: number; row: number; fill: string; matched: boolean }

const ACCENT = '#2b50d8'
const MATCH = '#d633d6'

let browser: Browser | undefined
const skip = CHROMIUM_SKIP
let flameHtml = ''

before(async () => {
  if (skip) return
  browser = await launchBrowser()
  flameHtml = join(dir, 'mesh.html')
  const r = await runCli(['flamegraph', folded, '-o', flameHtml, '--title', HOSTILE_TITLE])
  assert.equal(r.code, 0, r.stderr)
})

after(async () => {
  await browser?.close()
  rmSync(dir, { recursive: true, force: true })
})

async function open(file: string, hash = ''): Promise<Opened> {
  const o = await openPage(browser!, pathToFileURL(file).href + hash)
  await o.page.waitForFunction(() => (window as unknown as { __meshprof?: { ready: boolean } }).__meshprof?.ready === true, null, { timeout: 10000 })
  return o
}

function rects(page: Page): Promise<Rect[]> {
  return page.evaluate(() => (window as unknown as { __meshprof: { rects(): Rect[] } }).__meshprof.rects())
}

async function rectOf(page: Page, name: string): Promise<Rect> {
  const r = (await rects(page)).find((x) => x.name === name)
  assert.ok(r, `no drawn rectangle named ${name}`)
  return r
}

function state(page: Page): Promise<{ zoom: number; zoomName: string; icicle: boolean; shape: string; query: string | null; matchShare: number | null; finding: number }> {
  return page.evaluate(() => (window as unknown as { __meshprof: { state(): never } }).__meshprof.state())
}

/** The canvas pixel (RGB) at the centre of a rectangle, read from what Chromium drew. */
function pixelAt(page: Page, r: Rect): Promise<[number, number, number]> {
  return page.evaluate(({ x, y }) => {
    const c = document.getElementById('canvas') as HTMLCanvasElement
    const dpr = c.width / c.getBoundingClientRect().width
    const d = c.getContext('2d')!.getImageData(Math.floor(x * dpr), Math.floor(y * dpr), 1, 1).data
    return [d[0]!, d[1]!, d[2]!] as [number, number, number]
  }, { x: r.x + Math.min(r.w / 2, 3), y: r.y + r.h / 2 })
}

/** A fingerprint of the whole canvas. */
function canvasHash(page: Page): Promise<number> {
  return page.evaluate(() => {
    const c = document.getElementById('canvas') as HTMLCanvasElement
    const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data
    let h = 0
    for (let i = 0; i < d.length; i += 4) h = (Math.imul(h, 31) + d[i]! * 65536 + d[i + 1]! * 256 + d[i + 2]!) | 0
    return h
  })
}

async function mouseTo(page: Page, r: Rect) {
  const box = (await page.locator('#canvas').boundingBox())!
  await page.mouse.move(box.x + r.x + Math.min(r.w / 2, 20), box.y + r.y + r.h / 2)
}

async function clickRect(page: Page, r: Rect) {
  const box = (await page.locator('#canvas').boundingBox())!
  await page.mouse.click(box.x + r.x + Math.min(r.w / 2, 20), box.y + r.y + r.h / 2)
}

const hex = (s: string): [number, number, number] => [parseInt(s.slice(1, 3), 16), parseInt(s.slice(3, 5), 16), parseInt(s.slice(5, 7), 16)]
const near = (a: readonly number[], b: readonly number[], tol = 12) => a.every((x, i) => Math.abs(x - b[i]!) <= tol)

function assertClean(o: Opened, file: string) {
  assert.deepEqual(o.pageErrors, [])
  assert.deepEqual(o.consoleErrors, [])
  assert.deepEqual(o.dialogs, [], 'a dialog opened: a frame name executed')
  assert.deepEqual(o.requests, [pathToFileURL(file).href], 'the page requested something besides itself')
}

test('flamegraph page loads from file:// with no request, no console error, and draws the profile', { skip }, async () => {
  const o = await open(flameHtml)
  try {
    const page = o.page
    const rs = await rects(page)
    const names = rs.map((r) => r.name)
    for (const n of ['all', 'main', 'runGossip', 'joinPeers', 'connectPeer', 'tls.connect', 'emit', 'idle', HOSTILE]) assert.ok(names.includes(n), `${n} not drawn`)
    assert.equal(await page.evaluate(() => (window as unknown as { __meshprof: { total(): number } }).__meshprof.total()), TOTAL)
    // connect frames in the accent colour, on the canvas itself
    const conn = await rectOf(page, 'connectPeer')
    assert.equal(conn.fill, ACCENT)
    assert.ok(near(await pixelAt(page, conn), hex(ACCENT)), `connectPeer pixel ${await pixelAt(page, conn)}`)
    const emit = await rectOf(page, 'emit')
    assert.ok(!near(await pixelAt(page, emit), hex(ACCENT), 60))
    // widths are proportional to totals
    const all = await rectOf(page, 'all')
    const rg = await rectOf(page, 'runGossip')
    assert.ok(Math.abs(rg.w / all.w - 90 / TOTAL) < 0.01)
    // summary header
    const summary = await page.locator('#summary').innerText()
    assert.match(summary, /samples\s+109/)
    const top5 = await page.locator('#top5').innerText()
    assert.match(top5, /55\.0%\s+tls\.connect/)
    // the meta CSP forbids any load
    const csp = await page.locator('meta[http-equiv="Content-Security-Policy"]').getAttribute('content')
    assert.match(csp!, /default-src 'none'/)
    assertClean(o, flameHtml)
  } finally {
    await o.close()
  }
})

test('hostile frame names and title stay text: no dialog, no injected element, exact text in the tooltip', { skip }, async () => {
  const o = await open(flameHtml)
  try {
    const page = o.page
    assert.equal(await page.locator('h1').innerText(), HOSTILE_TITLE)
    assert.equal(await page.title(), HOSTILE_TITLE)
    assert.equal(await page.locator('img, svg, iframe, object, embed').count(), 0)
    assert.equal(await page.locator('script').count(), 2)
    for (const name of [HOSTILE, HOSTILE2, HOSTILE3]) {
      await mouseTo(page, await rectOf(page, name))
      await page.waitForFunction((n) => document.querySelector('#tip .name')?.textContent === n && !(document.getElementById('tip') as HTMLElement).hidden, name, { timeout: 5000 })
    }
    const top5 = await page.locator('#top5').innerText()
    assert.ok(top5.includes(HOSTILE), top5)
    await page.fill('#search', 'img')
    assert.ok((await page.locator('#match').innerText()).includes('4.6%'))
    assertClean(o, flameHtml)
  } finally {
    await o.close()
  }
})

test('click zooms into a frame (canvas changes, siblings leave), breadcrumb and reset go back', { skip }, async () => {
  const o = await open(flameHtml)
  try {
    const page = o.page
    const h0 = await canvasHash(page)
    const W = (await rectOf(page, 'all')).w
    await clickRect(page, await rectOf(page, 'runGossip'))
    await page.waitForFunction(() => (window as unknown as { __meshprof: { state(): { zoomName: string } } }).__meshprof.state().zoomName === 'runGossip')
    const rs = await rects(page)
    assert.ok(!rs.some((r) => r.name === 'idle'), 'a sibling of the zoomed frame is still drawn')
    assert.ok(Math.abs((await rectOf(page, 'runGossip')).w - W) < 0.5)
    assert.ok(Math.abs((await rectOf(page, 'emit')).w - W / 3) < 1)
    assert.notEqual(await canvasHash(page), h0)
    assert.deepEqual(await page.locator('#crumbs button').allInnerTexts(), ['all', 'main', 'runGossip'])
    // tooltip shows share of all and of the zoom
    await mouseTo(page, await rectOf(page, 'emit'))
    await page.waitForFunction(() => /of zoom\s*33\.3%/.test(document.getElementById('tip')!.innerText))
    assert.match(await page.locator('#tip').innerText(), /total\s+30 samples · 27\.5%/)
    // breadcrumb back to main, then reset
    await page.locator('#crumbs button', { hasText: 'main' }).click()
    assert.equal((await state(page)).zoomName, 'main')
    assert.ok((await rects(page)).some((r) => r.name === 'idle'))
    await page.click('#btn-reset')
    assert.equal((await state(page)).zoom, 0)
    assert.equal(await canvasHash(page), h0)
    // Escape resets too
    await clickRect(page, await rectOf(page, 'joinPeers'))
    assert.equal((await state(page)).zoomName, 'joinPeers')
    await page.keyboard.press('Escape')
    assert.equal((await state(page)).zoom, 0)
    assertClean(o, flameHtml)
  } finally {
    await o.close()
  }
})

test('search by text or /regex/ highlights matches and shows their share, counting each sample once', { skip }, async () => {
  const o = await open(flameHtml)
  try {
    const page = o.page
    const h0 = await canvasHash(page)
    await page.fill('#search', '/connect|tls/')
    const st = await state(page)
    // connectPeer (60) contains tls.connect (60): 60 samples, not 120
    assert.ok(Math.abs(st.matchShare! - 60 / TOTAL) < 1e-9, String(st.matchShare))
    assert.match(await page.locator('#match').innerText(), /55\.0% of all \(60 samples, 2 frames\)/)
    const conn = await rectOf(page, 'connectPeer')
    assert.equal(conn.fill, MATCH)
    assert.ok(near(await pixelAt(page, conn), hex(MATCH)), String(await pixelAt(page, conn)))
    assert.ok(near(await pixelAt(page, await rectOf(page, 'tls.connect')), hex(MATCH)))
    assert.ok(near(await pixelAt(page, await rectOf(page, 'joinPeers')), hex(ACCENT)), 'joinPeers does not match /connect|tls/')
    assert.notEqual(await canvasHash(page), h0)
    // plain text is a case-insensitive substring
    await page.fill('#search', 'EMIT')
    assert.ok(Math.abs((await state(page)).matchShare! - 30 / TOTAL) < 1e-9)
    // a bad regex is flagged, not thrown
    await page.fill('#search', '/(/')
    assert.equal(await page.locator('#search.bad').count(), 1)
    assert.equal((await state(page)).matchShare, null)
    await page.fill('#search', '')
    assert.equal(await canvasHash(page), h0)
    assertClean(o, flameHtml)
  } finally {
    await o.close()
  }
})

test('icicle toggle puts the root on top; --icicle and --highlight set the initial view', { skip }, async () => {
  const o = await open(flameHtml)
  try {
    const page = o.page
    const flameY = (await rectOf(page, 'all')).y
    assert.ok(flameY > 0)
    await page.click('#btn-icicle')
    assert.equal((await rectOf(page, 'all')).y, 0)
    assert.ok((await rectOf(page, 'tls.connect')).y > 0)
    await page.click('#btn-flame')
    assert.equal((await rectOf(page, 'all')).y, flameY)
  } finally {
    await o.close()
  }
  const file = join(dir, 'icicle.html')
  const r = await runCli(['flamegraph', folded, '-o', file, '--icicle', '--highlight', 'emit$'])
  assert.equal(r.code, 0, r.stderr)
  const o2 = await open(file)
  try {
    assert.equal((await rectOf(o2.page, 'all')).y, 0)
    assert.equal((await rectOf(o2.page, 'emit')).fill, MATCH)
    assert.ok(Math.abs((await state(o2.page)).matchShare! - 30 / TOTAL) < 1e-9)
    assertClean(o2, file)
  } finally {
    await o2.close()
  }
})

test('findings panel lists findings as text; clicking one highlights its frames', { skip }, async () => {
  const p = await loadProfile(folded)
  const file = join(dir, 'findings.html')
  writeFileSync(file, renderFlamegraphHtml(p, {
    findings: [
      { ruleId: 'connect-storm', severity: 'high', title: `connect from a tick ${HOSTILE}`, share: 0.55, frames: ['connectPeer', '^tls\\.'] },
      { ruleId: 'busy-loop', severity: 'medium', title: 'emit spins', frames: ['emit'] },
    ],
  }))
  const o = await open(file)
  try {
    const page = o.page
    const items = await page.locator('#findings-list button').allInnerTexts()
    assert.equal(items.length, 2)
    assert.ok(items[0]!.includes(HOSTILE))
    const h0 = await canvasHash(page)
    await page.locator('#findings-list button').first().click()
    const st = await state(page)
    assert.equal(st.finding, 0)
    assert.ok(Math.abs(st.matchShare! - 60 / TOTAL) < 1e-9)
    assert.equal((await rectOf(page, 'connectPeer')).fill, MATCH)
    assert.equal((await rectOf(page, 'tls.connect')).fill, MATCH)
    assert.equal((await rectOf(page, 'joinPeers')).fill, ACCENT)
    assert.notEqual(await canvasHash(page), h0)
    await page.locator('#findings-list button').nth(1).click()
    assert.ok(Math.abs((await state(page)).matchShare! - 30 / TOTAL) < 1e-9)
    await page.locator('#findings-list button').nth(1).click()
    assert.equal((await state(page)).matchShare, null)
    assertClean(o, file)
  } finally {
    await o.close()
  }
  // the CLI runs the analyze rules for the panel: a connect storm from a timer
  const storm = join(dir, 'storm.folded')
  writeFileSync(storm, 'node;processTimers;listOnTimeout;runGossip;joinPeers;connectPeer;tls.connect 600\nnode;processTimers;listOnTimeout;runGossip;emit 300\nnode;(idle) 100\n')
  const stormHtml = join(dir, 'storm.html')
  const r = await runCli(['flamegraph', storm, '-o', stormHtml])
  assert.equal(r.code, 0, r.stderr)
  const o2 = await open(stormHtml)
  try {
    // 600 of the 900 on-CPU samples: (idle) is not CPU (src/model/cpu-basis.ts)
    assert.match(await o2.page.locator('#findings-list').innerText(), /high\s+Connect storm \(66\.7%\)/i)
    await o2.page.locator('#findings-list button').first().click()
    assert.equal((await rectOf(o2.page, 'joinPeers')).fill, MATCH)
    assert.notEqual((await rectOf(o2.page, 'emit')).fill, MATCH)
    assertClean(o2, stormHtml)
  } finally {
    await o2.close()
  }
})

test('thousands of tiny frames are merged for drawing but kept in totals', { skip }, async () => {
  const lines = ['main;big 100000']
  for (let i = 0; i < 600; i++) lines.push(`main;small;leaf_${i} 1`)
  const f = join(dir, 'tiny.folded')
  writeFileSync(f, lines.join('\n') + '\n')
  const file = join(dir, 'tiny.html')
  const r = await runCli(['flamegraph', f, '-o', file])
  assert.equal(r.code, 0, r.stderr)
  const o = await open(file)
  try {
    const page = o.page
    const rs = await rects(page)
    assert.equal(await page.evaluate(() => (window as unknown as { __meshprof: { total(): number } }).__meshprof.total()), 100600)
    const small = rs.find((x) => x.name === 'small')!
    assert.ok(small && small.w > 5)
    const merged = rs.filter((x) => x.merged > 0)
    assert.equal(merged.length, 1)
    assert.equal(merged[0]!.merged, 600)
    assert.ok(rs.length < 20, `${rs.length} rectangles drawn`)
    await mouseTo(page, merged[0]!)
    await page.waitForFunction(() => /600 small frames/.test(document.getElementById('tip')!.innerText))
    assert.match(await page.locator('#tip').innerText(), /600 samples · 0\.6%/)
    // zoom into the merged group's parent: every leaf gets wide enough to draw
    await clickRect(page, small)
    assert.equal((await rects(page)).filter((x) => x.name?.startsWith('leaf_')).length, 600)
    assertClean(o, file)
  } finally {
    await o.close()
  }
})

test('differential flamegraph: grown frames red, shrunk blue, before-shape toggle, before/after/delta on hover', { skip }, async () => {
  const b = join(dir, 'before.folded')
  const a = join(dir, 'after.folded')
  writeFileSync(b, 'main;runGossip;connectPeer;tls.connect 60\nmain;runGossip;emit 30\nmain;idle 10\n')
  writeFileSync(a, `main;runGossip;connectPeer;tls.connect 5\nmain;runGossip;emit 60\nmain;idle 35\nmain;${HOSTILE} 10\n`)
  const file = join(dir, 'diff.html')
  writeFileSync(file, renderDiffFlamegraphHtml(await loadProfile(b), await loadProfile(a), { title: 'before vs after' }))
  const o = await open(file)
  try {
    const page = o.page
    const emit = await rectOf(page, 'emit') // 30% -> 55%
    const conn = await rectOf(page, 'connectPeer') // 60% -> 4.5%
    const [er, , eb] = await pixelAt(page, emit)
    const [cr, , cb] = await pixelAt(page, conn)
    assert.ok(er > eb + 60, `emit should be red, is ${[er, eb]}`)
    assert.ok(cb > cr + 60, `connectPeer should be blue, is ${[cr, cb]}`)
    const fresh = await pixelAt(page, await rectOf(page, HOSTILE))
    assert.ok(fresh[0] > fresh[2] + 100, 'a new frame is fully red')
    const afterW = conn.w
    await page.click('#btn-before')
    assert.equal((await state(page)).shape, 'before')
    const connB = await rectOf(page, 'connectPeer')
    assert.ok(connB.w > afterW * 5, `before-shape connectPeer ${connB.w} vs after ${afterW}`)
    assert.ok(!(await rects(page)).some((r) => r.name === HOSTILE), 'a frame new in after has no width in the before-shape')
    await mouseTo(page, connB)
    await page.waitForFunction(() => /change/.test(document.getElementById('tip')!.innerText))
    const tip = await page.locator('#tip').innerText()
    assert.match(tip, /before\s+total 60 samples \(60\.0%\)/)
    assert.match(tip, /after\s+total 5 samples \(4\.5%\)/)
    assert.match(tip, /change\s+total −55\.5 pp/)
    assertClean(o, file)
  } finally {
    await o.close()
  }
})

test('meshprof view: offline speedscope page with the profile inside shows its frames', { skip }, async () => {
  const f = join(dir, 'view.folded')
  writeFileSync(f, `main;runGossip;connectPeer;tls.connect 60\nmain;runGossip;emit 30\nmain;_ZN4core3fmt5write17h0123456789abcdefE 5\nmain;${HOSTILE} 5\n`)
  const file = join(dir, 'view.html')
  const r = await runCli(['view', f, '-o', file])
  assert.equal(r.code, 0, r.stderr)
  const o = await openPage(browser!, pathToFileURL(file).href + '#view=sandwich')
  try {
    const page = o.page
    await page.waitForFunction(() => document.body.innerText.includes('tls.connect'), null, { timeout: 15000 })
    const text = await page.locator('body').innerText()
    for (const n of ['connectPeer', 'runGossip', 'emit', HOSTILE]) assert.ok(text.includes(n), `${n} not shown`)
    assert.ok(text.includes('view.folded'), 'profile name shown')
    assert.equal(await page.locator('img').count(), 0)
    assert.deepEqual(o.pageErrors, [])
    assert.deepEqual(o.consoleErrors, [])
    assert.deepEqual(o.dialogs, [])
    assert.deepEqual(o.requests, [pathToFileURL(file).href + '#view=sandwich'].map((u) => u.replace(/#.*/, '')))
  } finally {
    await o.close()
  }
})

test('scripts/screenshot.mjs writes a PNG of a flamegraph page', { skip }, () => {
  const png = join(dir, 'shot.png')
  const r = spawnSync(process.execPath, [join(ROOT, 'scripts', 'screenshot.mjs'), flameHtml, png], { encoding: 'utf8', timeout: 60000 })
  assert.equal(r.status, 0, r.stderr)
  const buf = readFileSync(png)
  assert.deepEqual([...buf.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])
  assert.ok(buf.length > 5000)
})
