  // ---- values: the primary column plus the second one ---------------------------------------
  /** "1,234 samples · 12.3 ms" for the primary column plus the second one (or the period estimate). */
  function valueText(v, v2) {
    var s = fmtVal(v, P.cols[0])
    if (P.cols[1] && v2 !== undefined) s += ' \u00b7 ' + fmtVal(v2, P.cols[1])
    else if (P.periodNs) s += ' \u00b7 \u2248' + fmtNs(v * P.periodNs)
    return s
  }

  // ---- colours ----------------------------------------------------------------------------
  var KIND_HSL = {
    js: [44, 88, 62], native: [10, 72, 64], kernel: [27, 90, 60], gc: [145, 45, 58],
    idle: [0, 0, 80], program: [215, 12, 72], thread: [250, 30, 80], unknown: [32, 72, 64],
  }
  var KIND_LABEL = { js: 'JS', native: 'native', kernel: 'kernel', gc: 'GC', idle: 'idle', program: 'program', thread: 'thread', unknown: 'other' }
  var ACCENT = '#2b50d8'
  var MATCH = '#d633d6'
  var MERGED = '#c3c8cf'
  function hash(s) { var h = 2166136261; for (var i = 0; i < s.length && i < 64; i++) { h ^= s.charCodeAt(i); h = Math.imul(h, 16777619) } return h >>> 0 }
  var frameFill = new Array(F)
  for (f = 0; f < F; f++) {
    if (isConn[f]) { frameFill[f] = ACCENT; continue }
    var k = P.kinds[P.fKind[f]] || 'unknown'
    var c = KIND_HSL[k] || KIND_HSL.unknown
    var hv = hash(fname[f])
    var hue = c[0] + ((hv & 15) - 7) * (c[1] ? 1 : 0)
    var light = c[2] + (((hv >>> 4) & 15) - 7) * 0.8
    frameFill[f] = 'hsl(' + hue + ',' + c[1] + '%,' + light.toFixed(1) + '%)'
  }

  // diff colours: change of each node's total, as a share of its profile (or absolute)
  var delta = null
  var deltaMax = 0
  function computeDelta() {
    if (!DIFF) return
    delta = new Float64Array(N)
    deltaMax = 0
    var absMode = P.normalize === 'absolute'
    var ta = totA[0] || 1, tb = totB[0] || 1
    for (var i = 0; i < N; i++) {
      delta[i] = absMode ? totA[i] - totB[i] : totA[i] / ta - totB[i] / tb
      // Idle is not work: when CPU drops, idle grows; it must not set the colour scale.
      if (i > 0 && !isIdleNode(i) && Math.abs(delta[i]) > deltaMax) deltaMax = Math.abs(delta[i])
    }
  }
  computeDelta()
  function isIdleNode(node) {
    return node > 0 && P.kinds[P.fKind[frameOf[node]]] === 'idle'
  }
  function diffFill(node) {
    if (isIdleNode(node)) return 'rgb(226,228,232)'
    var a = totA[node], b = totB[node]
    var t
    if (a > 0 && b === 0) t = 1
    else if (b > 0 && a === 0) t = -1
    else {
      var dd = delta[node]
      if (deltaMax === 0 || Math.abs(dd) < deltaMax * 0.01) return 'rgb(226,228,232)'
      t = Math.pow(Math.abs(dd) / deltaMax, 0.6) * (dd > 0 ? 1 : -1)
    }
    var v = Math.round(226 - 186 * Math.abs(t))
    return t > 0 ? 'rgb(240,' + v + ',' + v + ')' : 'rgb(' + v + ',' + v + ',240)'
  }

