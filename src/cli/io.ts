// The only place chalk is created. Renderers get a Style. Whether stdout gets colour is chalk's own
// detection (a terminal, FORCE_COLOR including FORCE_COLOR=0, TERM=dumb, CI vendors), with NO_COLOR and
// --color/--no-color on top.
import { Chalk, supportsColor, type ColorSupportLevel } from '../vendor/cli-deps.js'
import type { Style } from '../render/style.js'

export interface Io {
  out(text: string | Uint8Array): void
  err(text: string): void
  readonly isTTY: boolean
  readonly style: Style
  readonly verbose: boolean
}

/**
 * `detected` is chalk's level for stdout (false: no colour). --no-color and a non-empty NO_COLOR switch
 * colour off; --color switches it on even where chalk detected none.
 */
export function colorLevel(flag: boolean | undefined, detected: { level: ColorSupportLevel } | false = supportsColor): ColorSupportLevel {
  if (flag === false) return 0
  if (process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== '') return 0
  const level = detected ? detected.level : 0
  return flag === true ? (Math.max(level, 1) as ColorSupportLevel) : level
}

export function makeStyle(level: ColorSupportLevel): Style {
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
    style: makeStyle(colorLevel(opts.color)),
    verbose: Boolean(opts.verbose),
  }
}
