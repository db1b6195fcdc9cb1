  // ---- units (pure: uses nothing from the page; unit-tested in test/html/page-parts.test.ts) -----
  var TIME = { nanoseconds: 1, microseconds: 1e3, milliseconds: 1e6, seconds: 1e9 }
  function group3(x) { return Math.round(x).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',') }
  function fmtNs(ns) {
    if (ns >= 1e9) return (ns / 1e9).toFixed(2) + ' s'
    if (ns >= 1e6) return (ns / 1e6).toFixed(1) + ' ms'
    if (ns >= 1e3) return (ns / 1e3).toFixed(1) + ' \u00b5s'
    return Math.round(ns) + ' ns'
  }
  function fmtBytes(b) {
    if (b >= 1073741824) return (b / 1073741824).toFixed(2) + ' GiB'
    if (b >= 1048576) return (b / 1048576).toFixed(1) + ' MiB'
    if (b >= 1024) return (b / 1024).toFixed(1) + ' KiB'
    return Math.round(b) + ' B'
  }
  function fmtVal(v, col) {
    var u = col.unit
    if (TIME[u]) return fmtNs(v * TIME[u])
    if (u === 'bytes') return fmtBytes(v)
    var s = Number.isInteger(v) ? group3(v) : v.toFixed(2)
    if (u === 'count' || u === 'samples' || u === '') return s + (col.type && col.type !== 'samples' && col.type !== 'count' ? ' ' + col.type : ' samples')
    return s + ' ' + u
  }
  // As formatCores in src/model/cpu-basis.ts: the precision is decided on the rounded figure.
  function fmtCores(x) { return isFinite(x) ? (Number(x.toFixed(3)) >= 0.1 ? x.toFixed(2) : x.toFixed(3)) : '-' }
  function pct(x) { return isFinite(x) ? (x * 100).toFixed(x >= 0.001 || x === 0 ? 1 : 3) + '%' : '-' }
  function pp(x) { return (x > 0 ? '+' : x < 0 ? '\u2212' : '\u00b1') + Math.abs(x * 100).toFixed(1) + ' pp' }
