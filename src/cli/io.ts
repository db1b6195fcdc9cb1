// The only place chalk is created. Renderers get a Style; colour is off for non-TTY, NO_COLOR, --no-color.
import { Chalk } from 'chalk'
import type { Style } from '../render/style.js'

export interface Io {
  out(text: string | Uint8Array): void
  err(text: string): void
  readonly isTTY: boolean
  readonly style: Style
  readonly verbose: boolean
}

export function colorLevel(flag: boolean | undefined, isTTY: boolean): 0 | 1 | 2 | 3 {
  if (flag === false) return 0
  if (process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== '') return 0
  if (flag === true || process.env.FORCE_COLOR) return 1
  return isTTY ? 1 : 0
}

export function makeStyle(level: 0 | 1 | 2 | 3): Style {
  const c = new Chalk({ level })
  return {
    enabled: level > 0,
    bold: (s) => c.bold(s),
    dim: (s) => c.dim(s),
    red: (s) => c.red(s),
    green: (s) => c.green(s),
    yellow: (s) => c.yellow(s),
    cyan: (s) => c.cyan(s),
    magenta: (s) => c.magenta(s),
    accent: (s) => c.bold.hex('#e8590c')(s),
  }
}

export function processIo(opts: { color?: boolean; verbose?: boolean }): Io {
  const isTTY = Boolean(process.stdout.isTTY)
  return {
    out: (t) => { process.stdout.write(t) },
    err: (t) => { process.stderr.write(t) },
    isTTY,
    style: makeStyle(colorLevel(opts.color, isTTY)),
    verbose: Boolean(opts.verbose),
  }
}
