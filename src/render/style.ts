// Terminal styling as an interface, so renderers stay pure and tests run at colour level 0.

export interface Style {
  readonly enabled: boolean
  bold(s: string): string
  dim(s: string): string
  red(s: string): string
  green(s: string): string
  yellow(s: string): string
  cyan(s: string): string
  magenta(s: string): string
  /** The connect/handshake accent. */
  accent(s: string): string
}

const id = (s: string) => s
export const PLAIN: Style = { enabled: false, bold: id, dim: id, red: id, green: id, yellow: id, cyan: id, magenta: id, accent: id }

/**
 * Frame names are untrusted: strip terminal control sequences and other C0/C1 controls so a
 * hostile name cannot move the cursor, change the title or clear the screen.
 */
export function termSafe(s: string): string {
  // Every C0/C1 control (ESC included) becomes visible \xNN text: nothing reaches the terminal raw.
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\x00-\x1f\x7f-\x9f]/g, (m) => `\\x${m.charCodeAt(0).toString(16).padStart(2, '0')}`)
}
