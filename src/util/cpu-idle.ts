// How busy the rest of the machine is, measured over this process's own start-up: bin/meshprof.js
// loads this module before the CLI, so the window runs from there to the question (~0.1 s of module
// loading and argument parsing), with no wait added. Linux only (/proc/stat); else unknown.
import { readFileSync } from 'node:fs'

/** Jiffies since boot over all cores: idle (+ iowait) and total; undefined off Linux. */
function cpuJiffies(): { idle: number; total: number } | undefined {
  try {
    const text = readFileSync('/proc/stat', 'latin1')
    const f = text.slice(0, text.indexOf('\n')).trim().split(/\s+/).slice(1, 9).map(Number)
    if (f.length < 5 || f.some((x) => !Number.isFinite(x))) return undefined
    return { idle: f[3]! + f[4]!, total: f.reduce((a, x) => a + x, 0) }
  } catch {
    return undefined
  }
}

const atStart = cpuJiffies()

/**
 * Cores that sat idle since start-up (this process kept one busy meanwhile), of `cores`; undefined
 * when unknown, or when the window is under ~4 jiffies per core (too short to tell) or over ~5 s
 * (a library caller long after start-up: that average says little about now).
 */
export function idleCoresSinceStart(cores: number): number | undefined {
  const now = cpuJiffies()
  if (!atStart || !now) return undefined
  const dt = now.total - atStart.total
  if (dt < 4 * cores || dt > 500 * cores) return undefined
  return ((now.idle - atStart.idle) / dt) * cores
}
