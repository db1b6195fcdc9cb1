// `--open`: show a written page in the user's browser, through the `open` package (xdg-open on
// Linux, `open` on macOS, `start` on Windows), as 0x and clinic do. $BROWSER, when set, names the
// browser command (the convention of xdg-utils, Python's webbrowser and git; the first entry of a
// colon-separated list). Not being able to open a browser is not a failure: the page is written.
import { resolve } from 'node:path'
import { UsageError } from '../util/errors.js'
import type { Io } from './io.js'

/** `--open` needs a file to open: refuse `-o -` (stdout) before any work is done. */
export function checkOpenTarget(open: boolean | undefined, out: string | undefined, flag: string): void {
  if (!open) return
  if (out === undefined) throw new UsageError(`--open opens the page ${flag} writes: give ${flag} FILE`)
  if (out === '-') throw new UsageError(`--open needs a file, not stdout (${flag} -)`)
}

export async function openPage(file: string, io: Io): Promise<void> {
  const target = resolve(file)
  const browser = process.env.BROWSER?.split(':')[0]?.trim()
  try {
    const { default: open } = await import('open')
    await open(target, browser ? { app: { name: browser } } : {})
    if (io.verbose) io.err(`meshprof: opened ${target}${browser ? ` with ${browser}` : ''}\n`)
  } catch (e) {
    io.err(`meshprof: could not open a browser (${(e as Error)?.message ?? String(e)}); the page is ${target}\n`)
  }
}
