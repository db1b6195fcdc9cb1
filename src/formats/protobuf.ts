// A small protobuf wire-format reader and writer, just enough for pprof's profile.proto.
//
// The reader is a cursor over one byte range: callers loop over fields with `next()` and read the
// value with the method that fits the wire type, or skip it. Nothing is materialised unless the
// caller asks for it, so a 25 MB profile with 440k samples is decoded without creating an object
// per message. Integers come back as JS numbers: exact up to 2^53, which covers ids, string-table
// indexes, line numbers and sample values (int64 values beyond 2^53 lose precision, never sign).
//
// Every read is bounds-checked against the end of the current range; a truncated or corrupt
// message throws ProtoError (the importer turns it into one MalformedInputError line).

export class ProtoError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'ProtoError'
  }
}

export const WIRE_VARINT = 0
export const WIRE_I64 = 1
export const WIRE_LEN = 2
export const WIRE_I32 = 5

const TWO32 = 4294967296

export class ProtoReader {
  /** Current position. */
  pos: number
  /** Field number and wire type of the field `next()` returned. */
  field = 0
  wire = 0

  constructor(readonly buf: Uint8Array, start = 0, public end = buf.length) {
    this.pos = start
  }

  /** Advance to the next field; false at the end of the range. */
  next(): boolean {
    if (this.pos >= this.end) return false
    const key = this.varint()
    this.field = Math.floor(key / 8)
    this.wire = key & 7
    if (this.field === 0) throw new ProtoError(`invalid field number 0 at byte ${this.pos}`)
    return true
  }

  /** Unsigned varint as a number (uint64 beyond 2^53 is rounded). */
  varint(): number {
    const buf = this.buf
    let pos = this.pos
    const end = this.end
    if (pos >= end) throw new ProtoError(`truncated varint at byte ${pos}`)
    let b = buf[pos++]!
    if (b < 0x80) {
      this.pos = pos
      return b
    }
    let lo = b & 0x7f
    // Bytes 2..4 fit in 28 bits with plain integer arithmetic.
    for (let shift = 7; shift < 28; shift += 7) {
      if (pos >= end) throw new ProtoError(`truncated varint at byte ${pos}`)
      b = buf[pos++]!
      lo |= (b & 0x7f) << shift
      if (b < 0x80) {
        this.pos = pos
        return lo
      }
    }
    // 5th byte: 4 low bits complete the low 32 bits, 3 high bits start the high word.
    if (pos >= end) throw new ProtoError(`truncated varint at byte ${pos}`)
    b = buf[pos++]!
    lo = (lo | ((b & 0x0f) << 28)) >>> 0
    let hi = (b & 0x7f) >> 4
    if (b >= 0x80) {
      let shift = 3
      for (let i = 0; ; i++) {
        if (i >= 5) throw new ProtoError(`varint longer than 10 bytes at byte ${pos}`)
        if (pos >= end) throw new ProtoError(`truncated varint at byte ${pos}`)
        b = buf[pos++]!
        hi |= (b & 0x7f) << shift
        shift += 7
        if (b < 0x80) break
      }
      hi >>>= 0
    }
    this.pos = pos
    return hi * TWO32 + lo
  }

  /** Low and high 32 bits of the last varintParts() read. */
  lo = 0
  hi = 0

  /** Unsigned varint as exact 32-bit halves in `lo` / `hi` (for 64-bit addresses). */
  varintParts(): void {
    const buf = this.buf
    let lo = 0
    let hi = 0
    for (let i = 0; ; i++) {
      if (i >= 10) throw new ProtoError(`varint longer than 10 bytes at byte ${this.pos}`)
      if (this.pos >= this.end) throw new ProtoError(`truncated varint at byte ${this.pos}`)
      const b = buf[this.pos++]!
      const bits = b & 0x7f
      if (i < 4) lo |= bits << (7 * i)
      else if (i === 4) { lo |= (bits & 0x0f) << 28; hi = bits >> 4 }
      else hi |= bits << (7 * i - 32)
      if (b < 0x80) break
    }
    this.lo = lo >>> 0
    this.hi = hi >>> 0
  }

  /** Signed int64 varint (two's complement, 10 bytes when negative) as a number. */
  int64(): number {
    const start = this.pos
    const v = this.varint()
    // A negative int64 is encoded in 10 bytes with the top bit of the high word set.
    if (v >= 2 ** 63 && this.pos - start === 10) return this.negative(start)
    return v
  }

  private negative(start: number): number {
    // Re-read the 64 bits exactly: low 32 bits from bytes 0..4, high 32 bits from bytes 4..9.
    const buf = this.buf
    let lo = 0
    let hi = 0
    for (let i = 0; i < 4; i++) lo |= (buf[start + i]! & 0x7f) << (7 * i)
    lo = (lo | ((buf[start + 4]! & 0x0f) << 28)) >>> 0
    hi = (buf[start + 4]! & 0x7f) >> 4
    for (let i = 0; i < 5; i++) hi |= (buf[start + 5 + i]! & 0x7f) << (3 + 7 * i)
    hi |= 0 // as signed 32-bit
    return hi * TWO32 + lo
  }

  bool(): boolean {
    return this.varint() !== 0
  }

  /** Start and end of a length-delimited value; the cursor moves past it. */
  lenRange(): [number, number] {
    const len = this.varint()
    const start = this.pos
    const end = start + len
    if (end > this.end) throw new ProtoError(`length ${len} at byte ${start} runs past the end of its message (${this.end})`)
    this.pos = end
    return [start, end]
  }

  /** Length-delimited value's length, leaving the cursor at its first byte (for nested readers). */
  lenStart(): number {
    const len = this.varint()
    if (this.pos + len > this.end) throw new ProtoError(`length ${len} at byte ${this.pos} runs past the end of its message (${this.end})`)
    return len
  }

  /** Skip the value of the current field. */
  skip(): void {
    switch (this.wire) {
      case WIRE_VARINT:
        this.varint()
        return
      case WIRE_I64:
        this.advance(8)
        return
      case WIRE_LEN:
        this.lenRange()
        return
      case WIRE_I32:
        this.advance(4)
        return
      default:
        throw new ProtoError(`unsupported wire type ${this.wire} (field ${this.field}) at byte ${this.pos}`)
    }
  }

  private advance(n: number): void {
    if (this.pos + n > this.end) throw new ProtoError(`truncated fixed-width field at byte ${this.pos}`)
    this.pos += n
  }

  /**
   * Read a repeated integer field that may be packed (wire type 2) or not (wire type 0), pushing
   * each value through `push`. `signed` reads int64 semantics.
   */
  repeatedVarint(push: (v: number) => void, signed = false): void {
    if (this.wire === WIRE_VARINT) {
      push(signed ? this.int64() : this.varint())
      return
    }
    if (this.wire !== WIRE_LEN) throw new ProtoError(`field ${this.field}: wire type ${this.wire} where an integer was expected`)
    const [start, end] = this.lenRange()
    const saveEnd = this.end
    this.pos = start
    this.end = end
    while (this.pos < end) push(signed ? this.int64() : this.varint())
    this.end = saveEnd
  }
}

/** Decode a UTF-8 byte range. Invalid sequences become U+FFFD (never throws). */
const utf8 = new TextDecoder('utf-8', { fatal: false })
export function decodeUtf8(buf: Uint8Array, start: number, end: number): string {
  // Short ASCII strings (most symbol names) are faster without the decoder call.
  if (end - start < 64) {
    let s = ''
    for (let i = start; i < end; i++) {
      const c = buf[i]!
      if (c >= 0x80) return utf8.decode(buf.subarray(start, end))
      s += String.fromCharCode(c)
    }
    return s
  }
  return utf8.decode(buf.subarray(start, end))
}

const encoder = new TextEncoder()

/**
 * Protobuf writer into a growable buffer. Nested messages: `const m = w.fork()`, write the fields,
 * `w.ldelim(field, m)` (the body is moved right to make room for its length).
 */
export class ProtoWriter {
  private buf = new Uint8Array(1 << 16)
  pos = 0

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return
    let size = this.buf.length * 2
    while (size < this.pos + n) size *= 2
    const nb = new Uint8Array(size)
    nb.set(this.buf.subarray(0, this.pos))
    this.buf = nb
  }

  /** Raw unsigned varint (no tag). `v` must be a non-negative integer. */
  rawVarint(v: number): void {
    this.ensure(10)
    const buf = this.buf
    let pos = this.pos
    if (v < 0x80000000 && v >= 0) {
      let x = v | 0
      while (x > 0x7f) {
        buf[pos++] = (x & 0x7f) | 0x80
        x >>>= 7
      }
      buf[pos++] = x
    } else {
      let lo = v % TWO32 >>> 0
      let hi = Math.floor(v / TWO32) >>> 0
      while (hi > 0 || lo > 0x7f) {
        buf[pos++] = (lo & 0x7f) | 0x80
        lo = ((lo >>> 7) | (hi << 25)) >>> 0
        hi >>>= 7
      }
      buf[pos++] = lo
    }
    this.pos = pos
  }

  /** Raw signed int64 varint: negatives take 10 bytes (two's complement), as protobuf requires. */
  rawInt64(v: number): void {
    if (v >= 0) {
      this.rawVarint(Math.floor(v))
      return
    }
    let x = BigInt.asUintN(64, BigInt(Math.trunc(v)))
    this.ensure(10)
    for (let i = 0; i < 9; i++) {
      this.buf[this.pos++] = Number(x & 0x7fn) | 0x80
      x >>= 7n
    }
    this.buf[this.pos++] = Number(x)
  }

  tag(field: number, wire: number): void {
    this.rawVarint(field * 8 + wire)
  }

  /** uint64 field; zero is omitted (proto3 default). */
  uint(field: number, v: number): void {
    if (!v) return
    this.tag(field, WIRE_VARINT)
    this.rawVarint(v)
  }

  /** int64 field; zero is omitted. */
  int(field: number, v: number): void {
    if (!v) return
    this.tag(field, WIRE_VARINT)
    this.rawInt64(v)
  }

  bool(field: number, v: boolean): void {
    if (!v) return
    this.tag(field, WIRE_VARINT)
    this.rawVarint(1)
  }

  bytes(field: number, b: Uint8Array): void {
    this.tag(field, WIRE_LEN)
    this.rawVarint(b.length)
    this.ensure(b.length)
    this.buf.set(b, this.pos)
    this.pos += b.length
  }

  /** String field; written even when empty (the pprof string table needs its "" at index 0). */
  string(field: number, s: string): void {
    this.bytes(field, encoder.encode(s))
  }

  /** Packed repeated varints; nothing is written for an empty list. */
  packed(field: number, values: ArrayLike<number>, signed = false): void {
    if (values.length === 0) return
    const m = this.fork()
    for (let i = 0; i < values.length; i++) {
      if (signed) this.rawInt64(values[i]!)
      else this.rawVarint(values[i]!)
    }
    this.ldelim(field, m)
  }

  /** Start a nested message; returns a mark for ldelim. */
  fork(): number {
    return this.pos
  }

  /** Close a nested message started at `mark` as field `field`. */
  ldelim(field: number, mark: number): void {
    const len = this.pos - mark
    // Encode tag+length into a scratch area, then shift the body right by that many bytes.
    const head: number[] = []
    for (let x = field * 8 + WIRE_LEN; ; ) {
      if (x > 0x7f) { head.push((x & 0x7f) | 0x80); x = Math.floor(x / 128) } else { head.push(x); break }
    }
    for (let x = len; ; ) {
      if (x > 0x7f) { head.push((x & 0x7f) | 0x80); x = Math.floor(x / 128) } else { head.push(x); break }
    }
    this.ensure(head.length)
    this.buf.copyWithin(mark + head.length, mark, this.pos)
    for (let i = 0; i < head.length; i++) this.buf[mark + i] = head[i]!
    this.pos += head.length
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.pos)
  }
}
