  // ---- VLQ columns (pure: uses nothing from the page; unit-tested in test/html/page-parts.test.ts) --
  // Columns arrive as base-32 varint strings (payload.ts encodeVlq) or as plain number arrays.
  var ALPHA = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
  var DEC = new Int8Array(128).fill(0)
  for (var a = 0; a < 64; a++) DEC[ALPHA.charCodeAt(a)] = a
  function column(x, n, Typed) {
    if (typeof x !== 'string') return Typed.from(x)
    var out = new Typed(n)
    var i = 0, k = 0, len = x.length
    while (k < n && i < len) {
      var c = DEC[x.charCodeAt(i++)]
      if (c < 32) { out[k++] = c; continue }
      var v = c & 31, mul = 32
      do { c = DEC[x.charCodeAt(i++)] & 63; v += (c & 31) * mul; mul *= 32 } while (c & 32 && i < len)
      out[k++] = v
    }
    return out
  }
