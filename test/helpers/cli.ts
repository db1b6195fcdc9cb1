// Helpers for tests that run the real CLI as a child process.
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'

/** Repository root (tests run from dist/test/...). */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..')
export const BIN = join(ROOT, 'bin', 'meshprof.js')
/** ../shared/corpus next to the repository, when present. */
export const CORPUS = process.env.MESHPROF_CORPUS ?? join(ROOT, '..', 'shared', 'corpus')
export const HAS_CORPUS = existsSync(join(CORPUS, 'manifest.json'))
export const CORPUS_SKIP = HAS_CORPUS ? false : `corpus not found at ${CORPUS} (set MESHPROF_CORPUS); skipping`
if (!HAS_CORPUS) process.stderr.write(`NOTE: ${CORPUS_SKIP}\n`)

export interface CliResult {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  stdoutBuf: Buffer
}

/** Run `meshprof ...args`; never hangs longer than `timeoutMs`. */
export function runCli(args: string[], opts: { input?: string | Buffer; timeoutMs?: number; env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: opts.cwd ?? ROOT,
      env: { ...process.env, NO_COLOR: '1', ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    const out: Buffer[] = []
    const err: Buffer[] = []
    child.stdout.on('data', (c) => out.push(c))
    child.stderr.on('data', (c) => err.push(c))
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`meshprof ${args.join(' ')} timed out after ${opts.timeoutMs ?? 60000} ms`)) }, opts.timeoutMs ?? 60000)
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      const stdoutBuf = Buffer.concat(out)
      resolve({ code, signal, stdout: stdoutBuf.toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), stdoutBuf })
    })
    child.stdin.on('error', () => {})
    if (opts.input !== undefined) child.stdin.end(opts.input)
    else child.stdin.end()
  })
}

export interface ManifestEntry {
  file: string
  format: string
  expected: Record<string, string>
  commands: Record<string, string>
  tags: string[]
  notes: string
  size: number
}

export async function corpusManifest(): Promise<ManifestEntry[]> {
  const { readFile } = await import('node:fs/promises')
  return JSON.parse(await readFile(join(CORPUS, 'manifest.json'), 'utf8'))
}

/** Assert a CLI failure is one clear line: no stack trace, the documented code. */
export function isCleanFailure(r: CliResult): boolean {
  return !/\n\s+at .+\(.+:\d+:\d+\)/.test(r.stderr) && !/^\s+at /m.test(r.stderr) && r.stderr.trim().length > 0 && r.stderr.trim().split('\n').length <= 2
}
