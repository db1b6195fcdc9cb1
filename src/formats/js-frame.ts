// One form for a JavaScript frame, whichever back-end recorded it, so `diff` matches a function
// captured through the agent with the same function captured through the inspector:
//   agent (@datadog/pprof):   `(anonymous:L#2:C#13)` in /tmp/app.js, no line for named functions
//   inspector (.cpuprofile):  `(anonymous)` in file:///tmp/app.js, line 2, column 13
//   both become:              `(anonymous)` in /tmp/app.js, line 2, column 13
// Lines and columns are 1-based (the model's convention); file: URLs become paths (node: URLs and
// other schemes stay as they are).
import { fileURLToPath } from 'node:url'
import { jsModuleOf } from './shared.js'

/** `(anonymous:L#<line>:C#<col>)` / `(anonymous:L#<line>)`: @datadog/pprof's name for an unnamed function. */
const AGENT_ANONYMOUS = /^\(anonymous(?::L#(\d+)(?::C#(\d+))?)?\)$/

export interface JsFrameParts {
  name: string
  file?: string
  line?: number
  col?: number
  module?: string
}

/** A file: URL as a path; anything else unchanged. */
function pathOf(file: string): string {
  if (!file.startsWith('file://')) return file
  try {
    return fileURLToPath(file)
  } catch {
    return file // e.g. a Windows drive URL read on Linux
  }
}

/**
 * The normalised name, file, line, column and module of a JavaScript frame. `line`/`col` are what the
 * format recorded for the function (1-based), if anything; a position carried in the name fills them.
 */
export function jsFrame(name: string, file: string | undefined, line: number | undefined, col: number | undefined): JsFrameParts {
  let n = name === '' ? '(anonymous)' : name
  let l = line !== undefined && line > 0 ? line : undefined
  let c = col !== undefined && col > 0 ? col : undefined
  const anon = AGENT_ANONYMOUS.exec(n)
  if (anon) {
    n = '(anonymous)'
    if (anon[1] !== undefined) l ??= Number(anon[1])
    if (anon[2] !== undefined) c ??= Number(anon[2])
  }
  const f = file ? pathOf(file) : undefined
  return {
    name: n,
    ...(f ? { file: f, module: f.startsWith('node:') ? f : jsModuleOf(f) } : {}),
    ...(l !== undefined ? { line: l } : {}),
    ...(c !== undefined ? { col: c } : {}),
  }
}
