// Launch Debian's headless Chromium through playwright-core (shared by scripts/screenshot.mjs and bench/).
import { existsSync } from 'node:fs'
import { chromium } from 'playwright-core'

export const CHROMIUM = process.env.MESHPROF_CHROMIUM ?? '/usr/bin/chromium'
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

export function hasChromium() {
  return existsSync(CHROMIUM)
}

/** playwright's launch() gives every run a fresh temporary user-data-dir and removes it on close. */
export function launchChromium() {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true, timeout: 30000 })
}
