// Input bytes for importers: files or stdin, transparently gunzipped, with a guard against gzip
// bombs and clear errors for missing / unreadable files. Importers never open files themselves.
import { createReadStream, promises as fsp, constants as fsc } from 'node:fs'
import { createGunzip } from 'node:zlib'
import type { Readable } from 'node:stream'
import { EXIT, MalformedInputError, MeshprofError } from '../util/errors.js'

/** Bytes read for format detection. */
export const HEAD_BYTES = 64 * 1024
/**
 * Gzip output beyond BOMB_MIN_BYTES that is more than BOMB_RATIO times the compressed bytes consumed
 * SO FAR is treated as a bomb. Deflate tops out near 1032:1 (runs of one byte); real profiles
 * compress 10-60:1, so 200 trips a bomb after BOMB_MIN_BYTES of output, not at its end.
 */
export const BOMB_RATIO = 200
export const BOMB_MIN_BYTES = 256 * 1024 * 1024
/** Largest input read fully into memory (JSON / protobuf formats). Streaming formats have no cap. */
export const MAX_IN_MEMORY = 1024 * 1024 * 1024

export interface InputSource {
  /** Path, or '-' for stdin. */
  readonly name: string
  /** The file on disk, when the content comes from one (not stdin / in-memory). */
  readonly path?: string
  readonly gzipped: boolean
  /** Size on disk (compressed). */
  readonly size: number
  /** The first HEAD_BYTES (or fewer) of the decompressed content. */
  readonly head: Buffer
  /** Decompressed content as a stream of chunks; may be called more than once for files. */
  stream(): Readable
  /** Whole decompressed content (bounded by MAX_IN_MEMORY and the bomb guard). */
  readAll(): Promise<Buffer>
}

export function ioError(path: string, err: unknown): MeshprofError {
  const code = (err as NodeJS.ErrnoException)?.code
  if (code === 'ENOENT') return new MeshprofError(`${path}: no such file`, EXIT.IO)
  if (code === 'EACCES' || code === 'EPERM') return new MeshprofError(`${path}: permission denied`, EXIT.IO)
  if (code === 'EISDIR') return new MeshprofError(`${path}: is a directory`, EXIT.IO)
  return new MeshprofError(`${path}: ${(err as Error)?.message ?? String(err)}`, EXIT.IO)
}

function isGzip(b: Buffer): boolean {
  return b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b
}

/** Wraps a gunzip stream with the bomb guard and a clear error for truncated data. */
function guardedGunzip(src: Readable, name: string, compressedSize: number): Readable {
  const gz = createGunzip()
  let out = 0
  // Compressed bytes inflated so far (read minus still queued in zlib): a ratio against the whole
  // file would let a 5 MB bomb inflate to 1 GB (200 x 5 MB) first; this trips at BOMB_MIN_BYTES.
  let consumed = 0
  src.on('data', (c: Buffer) => { consumed += c.length })
  gz.on('data', (c: Buffer) => {
    out += c.length
    if (out > BOMB_MIN_BYTES && out > Math.min(consumed - gz.writableLength, compressedSize) * BOMB_RATIO) {
      gz.destroy(new MalformedInputError('gzip', `${name} inflates to more than ${BOMB_RATIO}x its size (gzip bomb?); refusing`))
    }
  })
  src.on('error', (e) => gz.destroy(e))
  src.pipe(gz)
  // Normalise zlib's errors into one clear line.
  const origDestroy = gz.destroy.bind(gz)
  gz.destroy = ((e?: Error) => {
    if (e && !(e instanceof MeshprofError)) e = new MalformedInputError('gzip', `${name}: ${e.message}`)
    return origDestroy(e)
  }) as typeof gz.destroy
  gz.on('error', () => { /* surfaced to the consumer via iteration */ })
  return gz
}

async function collect(stream: Readable, limit: number, name: string): Promise<Buffer> {
  const chunks: Buffer[] = []
  let n = 0
  for await (const c of stream) {
    n += (c as Buffer).length
    if (n > limit) {
      stream.destroy()
      throw new MalformedInputError('input', `${name} is larger than ${Math.round(limit / 1048576)} MiB; this format is read into memory`)
    }
    chunks.push(c as Buffer)
  }
  return Buffer.concat(chunks, n)
}

async function readHead(path: string, gz: boolean, size: number): Promise<Buffer> {
  const raw = createReadStream(path, gz ? {} : { start: 0, end: HEAD_BYTES - 1 })
  const s = gz ? guardedGunzip(raw, path, size) : raw
  const chunks: Buffer[] = []
  let n = 0
  try {
    for await (const c of s) {
      chunks.push(c as Buffer)
      n += (c as Buffer).length
      if (n >= HEAD_BYTES) break
    }
  } catch (e) {
    // A truncated gzip still has a usable head; only rethrow when nothing came out.
    if (n === 0) throw e
  } finally {
    s.destroy()
    raw.destroy()
  }
  return Buffer.concat(chunks, n).subarray(0, HEAD_BYTES)
}

/** A gzip file this small (compressed and inflated) is read and inflated in one go. */
const WHOLE_GZIP_MAX = 64 * 1024 * 1024

/**
 * The content of a small gzip file, inflated at once: the streams take dozens of event-loop turns
 * and inflate the head twice (a third of `top` on a 1.3 MB pprof on a busy machine). Undefined when
 * the trailer's size says more than WHOLE_GZIP_MAX or inflating fails: the streaming path then
 * reads it and reports any error as it always has. The output is capped far below the bomb guard's.
 */
async function inflateWhole(path: string): Promise<Buffer | undefined> {
  try {
    const raw = await fsp.readFile(path)
    if (raw.length < 18 || raw.readUInt32LE(raw.length - 4) > WHOLE_GZIP_MAX) return undefined
    return zlibSync.gunzipSync(raw, { maxOutputLength: WHOLE_GZIP_MAX })
  } catch {
    return undefined
  }
}

/** What the CLI passes for a '-' argument (yargs would turn '-' into ''). */
export const STDIN_MARKER = 'meshprof:stdin'

/** Open a file (or '-' for stdin) as an InputSource. */
export async function openInput(path: string): Promise<InputSource> {
  if (path === '-' || path === STDIN_MARKER) return fromBuffer('-', await collect(process.stdin, MAX_IN_MEMORY, 'stdin'))
  let size: number
  try {
    const st = await fsp.stat(path)
    if (st.isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' })
    size = st.size
    await fsp.access(path, fsc.R_OK)
  } catch (e) {
    throw ioError(path, e)
  }
  let magic: Buffer
  try {
    const fh = await fsp.open(path, 'r')
    try {
      const b = Buffer.alloc(2)
      const { bytesRead } = await fh.read(b, 0, 2, 0)
      magic = b.subarray(0, bytesRead)
    } finally {
      await fh.close()
    }
  } catch (e) {
    throw ioError(path, e)
  }
  const gz = isGzip(magic)
  if (gz && size <= WHOLE_GZIP_MAX) {
    const inflated = await inflateWhole(path)
    if (inflated) return { ...bufferSource(path, inflated), path, gzipped: true, size }
  }
  const head = await readHead(path, gz, size)
  const stream = (): Readable => {
    const raw = createReadStream(path, { highWaterMark: 1 << 20 })
    return gz ? guardedGunzip(raw, path, size) : raw
  }
  return {
    name: path,
    path,
    gzipped: gz,
    size,
    head,
    stream,
    async readAll() {
      if (!gz) {
        if (size > MAX_IN_MEMORY) throw new MalformedInputError('input', `${path} is larger than ${MAX_IN_MEMORY / 1048576} MiB; this format is read into memory`)
        return fsp.readFile(path)
      }
      return collect(stream(), MAX_IN_MEMORY, path)
    },
  }
}

/** An InputSource over bytes already in memory (stdin, tests, capture files). */
export function fromBuffer(name: string, data: Buffer): InputSource {
  if (isGzip(data)) {
    // Inflate with the same guard as files.
    const { gunzipSync } = zlibSync
    let inflated: Buffer
    try {
      inflated = gunzipSync(data, { maxOutputLength: Math.min(MAX_IN_MEMORY, Math.max(BOMB_MIN_BYTES, data.length * BOMB_RATIO)) })
    } catch (e) {
      const msg = (e as Error).message
      if (/maxOutputLength|Cannot create a Buffer larger/i.test(msg)) throw new MalformedInputError('gzip', `${name} inflates to more than ${BOMB_RATIO}x its size (gzip bomb?); refusing`)
      throw new MalformedInputError('gzip', `${name}: ${msg}`)
    }
    return { ...bufferSource(name, inflated), gzipped: true, size: data.length }
  }
  return bufferSource(name, data)
}

/** Plain (not gzipped) bytes in memory as an InputSource. */
function bufferSource(name: string, data: Buffer): InputSource {
  return {
    name,
    gzipped: false,
    size: data.length,
    head: data.subarray(0, HEAD_BYTES),
    stream() {
      return ReadableFrom([data])
    },
    async readAll() {
      return data
    },
  }
}

import * as zlibSync from 'node:zlib'
import { Readable as NodeReadable } from 'node:stream'
function ReadableFrom(chunks: Buffer[]): Readable {
  return NodeReadable.from(chunks, { objectMode: false })
}

/** 'utf-16le' / 'utf-16be' when the bytes start with that byte-order mark. */
export function utf16Bom(b: Uint8Array): 'utf-16le' | 'utf-16be' | undefined {
  if (b.length >= 2 && b[0] === 0xff && b[1] === 0xfe) return 'utf-16le'
  if (b.length >= 2 && b[0] === 0xfe && b[1] === 0xff) return 'utf-16be'
  return undefined
}

/**
 * Decode text, dropping a BOM; UTF-8 unless a UTF-16 byte-order mark says otherwise (Windows tools
 * write folded files in UTF-16); invalid sequences become U+FFFD (never throw).
 */
export function decodeText(b: Buffer): string {
  const utf16 = utf16Bom(b)
  if (utf16) return new TextDecoder(utf16).decode(b)
  let s = b.toString('utf8')
  if (s.charCodeAt(0) === 0xfeff) s = s.slice(1)
  return s
}

/**
 * stdin as a ONE-SHOT stream for streaming consumers (`meshprof fold -`): only the head is
 * buffered for detection, `stream()` may be called once, `readAll()` collects (bounded). Gzipped
 * stdin falls back to the in-memory path of openInput('-').
 */
export async function openStdinStream(stdin: NodeJS.ReadableStream = process.stdin): Promise<InputSource> {
  const it = (stdin as AsyncIterable<Buffer | string>)[Symbol.asyncIterator]()
  const chunks: Buffer[] = []
  let n = 0
  let ended = false
  while (n < HEAD_BYTES) {
    const r = await it.next()
    if (r.done) {
      ended = true
      break
    }
    const c = typeof r.value === 'string' ? Buffer.from(r.value) : r.value
    chunks.push(c)
    n += c.length
  }
  const first = Buffer.concat(chunks, n)
  async function* rest(): AsyncGenerator<Buffer> {
    if (first.length) yield first
    if (ended) return
    for (;;) {
      const r = await it.next()
      if (r.done) return
      yield typeof r.value === 'string' ? Buffer.from(r.value) : r.value
    }
  }
  if (isGzip(first)) return fromBuffer('-', await collect(NodeReadable.from(rest()), MAX_IN_MEMORY, 'stdin'))
  let used = false
  const once = (): Readable => {
    if (used) throw new MeshprofError('stdin can be read only once', EXIT.USAGE)
    used = true
    return NodeReadable.from(rest(), { objectMode: false })
  }
  return {
    name: '-',
    gzipped: false,
    size: n,
    head: first.subarray(0, HEAD_BYTES),
    stream: once,
    readAll: () => collect(once(), MAX_IN_MEMORY, 'stdin'),
  }
}
