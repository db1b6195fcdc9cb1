// Real headless Chromium (Debian's /usr/bin/chromium) driven by playwright-core, for the HTML tests.
import { existsSync } from 'node:fs'
import { chromium, type Browser, type Page } from 'playwright-core'

export const CHROMIUM = process.env.MESHPROF_CHROMIUM ?? '/usr/bin/chromium'
export const HAS_CHROMIUM = existsSync(CHROMIUM)
export const CHROMIUM_SKIP = HAS_CHROMIUM ? false : `Chromium not found at ${CHROMIUM} (apt-get install -y chromium, or set MESHPROF_CHROMIUM); skipping browser tests`

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

/** One browser for a whole test file. playwright's launch() uses a fresh temporary user-data-dir. */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true, timeout: 30000 })
}

export interface Opened {
  page: Page
  requests: string[]
  consoleErrors: string[]
  pageErrors: string[]
  dialogs: string[]
  close(): Promise<void>
}

/** A page in its own context, with every request, console error, page error and dialog recorded. */
export async function openPage(browser: Browser, url: string, viewport = { width: 1200, height: 800 }): Promise<Opened> {
  const ctx = await browser.newContext({ viewport })
  const page = await ctx.newPage()
  const o: Opened = { page, requests: [], consoleErrors: [], pageErrors: [], dialogs: [], close: () => ctx.close() }
  page.on('request', (r) => o.requests.push(r.url()))
  page.on('console', (m) => { if (m.type() === 'error') o.consoleErrors.push(m.text()) })
  page.on('pageerror', (e) => o.pageErrors.push(e.message))
  page.on('dialog', (d) => { o.dialogs.push(d.message()); void d.dismiss() })
  await page.goto(url, { waitUntil: 'load' })
  return o
}
