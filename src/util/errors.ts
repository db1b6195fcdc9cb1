// Errors that reach the user as one line on stderr and a documented exit code (README "Exit codes").

export const EXIT = {
  OK: 0,
  /** analyze --fail-on / diff --fail-on-regression tripped. */
  FINDINGS: 1,
  USAGE: 2,
  /** Input file missing, unreadable, or output not writable. */
  IO: 3,
  /** Input is not a format meshprof reads, or is truncated / corrupt / hostile. */
  BAD_INPUT: 4,
  /** Capture target problem: no such pid, not a Node process, permission denied, exited. */
  TARGET: 5,
  /** A system tool capture needs is missing or forbidden (perf, perf_event_paranoid). */
  TOOL: 6,
  /** Interrupted (Ctrl-C) after partial output was kept. */
  INTERRUPTED: 130,
  /** A bug in meshprof. */
  INTERNAL: 70,
} as const

export class MeshprofError extends Error {
  constructor(message: string, readonly exitCode: number, readonly hint?: string) {
    super(message)
    this.name = 'MeshprofError'
  }
}

export class UsageError extends MeshprofError {
  constructor(message: string) { super(message, EXIT.USAGE) }
}

/** The input is in no format meshprof knows. */
export class UnrecognizedFormatError extends MeshprofError {
  constructor(what: string, tried: readonly string[]) {
    super(`${what}: unrecognized profile format (tried ${tried.join(', ')}); use --format to force one`, EXIT.BAD_INPUT)
  }
}

/** The input is of a known format but broken: truncated, corrupt, too large, hostile. */
export class MalformedInputError extends MeshprofError {
  constructor(format: string, detail: string) {
    super(`malformed ${format} input: ${detail}`, EXIT.BAD_INPUT)
  }
}

export class CaptureError extends MeshprofError {
  constructor(message: string, exitCode: number = EXIT.TARGET, hint?: string) { super(message, exitCode, hint) }
}
