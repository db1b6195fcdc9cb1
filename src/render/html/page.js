// meshprof flamegraph page. Reads the JSON payload embedded in the page, draws on one canvas.
// Frame names are untrusted: they only ever reach the page through textContent and fillText.
;(function () {
  'use strict'
  var P = JSON.parse(document.getElementById('meshprof-data').textContent)
  var DIFF = P.mode === 'diff'
  var ROW = 18
  var MINW = 1 // frames narrower than this (CSS px) are merged into one grey block
  var FONT = '12px ui-monospace, "SF Mono", Menlo, Consolas, "DejaVu Sans Mono", monospace'
  var $ = function (id) { return document.getElementById(id) }
  var el = function (tag, cls, text) {
    var e = document.createElement(tag)
    if (cls) e.className = cls
    if (text !== undefined && text !== null) e.textContent = String(text)
    return e
  }

  // ---- tree -------------------------------------------------------------------------------
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
  var n = P.nodes
  var cDepth = column(P.depth, n, Int32Array)
  var cFrame = column(P.frame, n, Int32Array)
  var cSelf = column(P.self, n, Float64Array)
  var cBself = P.bself !== undefined ? column(P.bself, n, Float64Array) : null
  var cSelf2 = P.self2 !== undefined ? column(P.self2, n, Float64Array) : null
  var N = n + 1 // node 0 is the synthetic root "all"
  var depth = new Int32Array(N)
  var frameOf = new Int32Array(N)
  var parent = new Int32Array(N)
  var endOf = new Int32Array(N)
  var selfA = new Float64Array(N)
  var selfB = cBself ? new Float64Array(N) : null
  var self2 = cSelf2 ? new Float64Array(N) : null
  depth[0] = -1; frameOf[0] = -1; parent[0] = -1
  selfA[0] = P.rootSelf || 0
  if (selfB) selfB[0] = P.bRootSelf || 0
  if (self2) self2[0] = P.rootSelf2 || 0
  var path = [0]
  var maxDepth = -1
  for (var i = 1; i < N; i++) {
    var d = cDepth[i - 1]
    depth[i] = d
    frameOf[i] = cFrame[i - 1]
    selfA[i] = cSelf[i - 1]
    if (selfB) selfB[i] = cBself[i - 1]
    if (self2) self2[i] = cSelf2[i - 1]
    parent[i] = path[d]
    path[d + 1] = i
    if (d > maxDepth) maxDepth = d
  }
  function totals(self) {
    var t = Float64Array.from(self)
    for (var i = N - 1; i >= 1; i--) t[parent[i]] += t[i]
    return t
  }
  var totA = totals(selfA)
  var totB = selfB ? totals(selfB) : null
  var tot2 = self2 ? totals(self2) : null
  // Idle is not CPU: (idle) subtrees are hidden by default (their weight out of every total and
  // width), so a mostly idle node is not drawn as one grey bar; the "Show idle" button puts them back.
  var underIdle = new Uint8Array(N)
  for (i = 1; i < N; i++) underIdle[i] = underIdle[parent[i]] || P.kinds[P.fKind[cFrame[i - 1]]] === 'idle' ? 1 : 0
  function busyTotals(self) {
    var b = Float64Array.from(self)
    for (var k = 1; k < N; k++) if (underIdle[k]) b[k] = 0
    return totals(b)
  }
  var fullA = totA, fullB = totB, fullT2 = tot2
  var busyA = busyTotals(selfA), busyB = selfB ? busyTotals(selfB) : null, busyT2 = self2 ? busyTotals(self2) : null
  var HAS_IDLE = busyA[0] < fullA[0] || (busyB !== null && busyB[0] < fullB[0])
  function useIdle(show) {
    // a profile that is all idle keeps its idle: there is nothing else to draw
    var hide = !show && (busyA[0] > 0 || (busyB !== null && busyB[0] > 0))
    totA = hide ? busyA : fullA
    totB = hide ? busyB : fullB
    tot2 = hide ? busyT2 : fullT2
    return !hide
  }
  useIdle(false)
  ;(function () {
    var size = new Int32Array(N).fill(1)
    for (var i = N - 1; i >= 1; i--) size[parent[i]] += size[i]
    for (var j = 0; j < N; j++) endOf[j] = j + size[j]
  })()

  // ---- frames -----------------------------------------------------------------------------
  var F = P.fName.length
  var S = P.strs
  var fname = new Array(F)
  for (var f = 0; f < F; f++) fname[f] = P.fName[f] >= 0 ? S[P.fName[f]] : '(anonymous)'
  // connect/handshake/TLS per frame, as meshprof's analyze classifies it (computed in the payload)
  var isConn = new Uint8Array(F)
  var connName = new Set()
  for (f = 0; f < F; f++) if (P.fConn[f]) { isConn[f] = 1; connName.add(P.fName[f]) }
  var nameOf = function (node) { return node === 0 ? 'all' : fname[frameOf[node]] }

  // ---- units ------------------------------------------------------------------------------
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
  function fmtCores(x) { return isFinite(x) ? x.toFixed(x >= 0.1 ? 2 : 3) : '-' }
  function pct(x) { return isFinite(x) ? (x * 100).toFixed(x >= 0.001 || x === 0 ? 1 : 3) + '%' : '-' }
  function pp(x) { return (x > 0 ? '+' : x < 0 ? '\u2212' : '\u00b1') + Math.abs(x * 100).toFixed(1) + ' pp' }
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
    idle: [0, 0, 80], program: [215, 12, 72], unknown: [32, 72, 64],
  }
  var KIND_LABEL = { js: 'JS', native: 'native', kernel: 'kernel', gc: 'GC', idle: 'idle', program: 'program', unknown: 'other' }
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

  // ---- state ------------------------------------------------------------------------------
  // A diff opens on the shape where the change is: the before shape when the process used less CPU
  // after (a fix that removed work draws what went away, not the almost empty after shape).
  function openingShape() {
    if (!DIFF) return 'after'
    var bm = P.beforeMeta || {}
    if (bm.cores !== undefined && P.meta.cores !== undefined) return bm.cores > P.meta.cores ? 'before' : 'after'
    return busyB[0] > busyA[0] ? 'before' : 'after'
  }
  var state = { zoom: 0, icicle: !!P.icicle, shape: openingShape(), showIdle: false, query: null, queryLabel: '', finding: -1 }
  var matched = new Uint8Array(F)
  var matchInfo = null
  function shapeTot() { return DIFF && state.shape === 'before' ? totB : totA }

  // ---- DOM --------------------------------------------------------------------------------
  var canvas = $('canvas')
  var ctx = canvas.getContext('2d')
  var scroller = $('scroller')
  var spacer = $('spacer')
  var tip = $('tip')
  var W = 0, VH = 0, CH = 0, dpr = 1
  var rowsTotal = maxDepth + 2
  var CW = 7.2

  // ---- layout: the rectangles to draw for the current zoom and shape -------------------------
  var R = { x: [], w: [], row: [], node: [], mcount: [], mval: [], mbig: [] }
  var byRow = []
  function layout() {
    var tot = shapeTot()
    var z = state.zoom
    if (!(tot[z] > 0)) { z = 0; state.zoom = 0 }
    R = { x: [], w: [], row: [], node: [], mcount: [], mval: [], mbig: [] }
    byRow = []
    function add(x, w, row, node, mc, mv, mb) {
      var k = R.x.length
      R.x.push(x); R.w.push(w); R.row.push(row); R.node.push(node); R.mcount.push(mc); R.mval.push(mv); R.mbig.push(mb)
      ;(byRow[row] || (byRow[row] = [])).push(k)
    }
    if (!(tot[0] > 0)) return
    var scale = W / tot[z]
    for (var a = z; a >= 0; a = parent[a]) add(0, W, depth[a] + 1, a, 0, 0, -1)
    var sn = [z], sx = [0]
    while (sn.length) {
      var nd = sn.pop(), x = sx.pop()
      var c = nd + 1, e = endOf[nd]
      var runX = 0, runW = 0, runN = 0, runV = 0, runBig = -1, runBigV = -1
      var row = depth[nd] + 2
      while (c < e) {
        var w = tot[c] * scale
        if (w >= MINW) {
          if (runN) { add(runX, runW, row, -1, runN, runV, runBig); runN = 0; runW = 0; runV = 0; runBig = -1; runBigV = -1 }
          add(x, w, row, c, 0, 0, -1)
          if (endOf[c] > c + 1) { sn.push(c); sx.push(x) }
        } else if (w > 0) {
          if (!runN) runX = x
          runN++; runW += w; runV += tot[c]
          if (tot[c] > runBigV) { runBigV = tot[c]; runBig = c }
        }
        x += w
        c = endOf[c]
      }
      if (runN) add(runX, runW, row, -1, runN, runV, runBig)
    }
  }

  function rowY(row) { return state.icicle ? row * ROW : CH - (row + 1) * ROW }

  function fillOf(k) {
    var node = R.node[k]
    if (node < 0) return MERGED
    if (node > 0 && matched[frameOf[node]]) return MATCH
    if (DIFF) return diffFill(node)
    if (node === 0) return 'hsl(210,10%,78%)'
    return frameFill[frameOf[node]]
  }

  var draws = 0
  function draw() {
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0)
    ctx.clearRect(0, 0, W, VH)
    ctx.font = FONT
    ctx.textBaseline = 'middle'
    var top = scroller.scrollTop
    var zd = depth[state.zoom] + 1
    var rows0 = Math.max(0, state.icicle ? Math.floor(top / ROW) : Math.floor((CH - top - VH) / ROW))
    var rows1 = Math.min(rowsTotal - 1, state.icicle ? Math.ceil((top + VH) / ROW) : Math.ceil((CH - top) / ROW))
    for (var row = rows0; row <= rows1; row++) {
      var list = byRow[row]
      if (!list) continue
      var y = rowY(row) - top
      for (var j = 0; j < list.length; j++) {
        var k = list[j]
        var x = R.x[k], w = R.w[k]
        ctx.globalAlpha = row < zd ? 0.55 : 1
        var fill = fillOf(k)
        ctx.fillStyle = fill
        ctx.fillRect(x, y, w > 2 ? w - 0.5 : w, ROW - 1)
        if (w > 24) {
          var label = R.node[k] < 0 ? R.mcount[k] + ' small frames' : nameOf(R.node[k])
          var chars = Math.floor((w - 6) / CW)
          if (chars >= 2) {
            if (label.length > chars) label = label.slice(0, chars - 1) + '\u2026'
            ctx.fillStyle = fill === ACCENT || fill === MATCH ? '#fff' : '#1d2127'
            ctx.fillText(label, x + 3, y + ROW / 2)
          }
        }
      }
    }
    ctx.globalAlpha = 1
    draws++
    if (!api.firstPaintMs) api.firstPaintMs = performance.now()
  }

  function relayout() { layout(); draw(); crumbs() }

  function resize() {
    dpr = window.devicePixelRatio || 1
    W = Math.max(200, scroller.clientWidth)
    CH = rowsTotal * ROW
    var avail = Math.max(240, window.innerHeight - (scroller.getBoundingClientRect().top + window.scrollY) - 56)
    VH = Math.min(CH, avail)
    scroller.style.height = (VH + 2) + 'px'
    W = Math.max(200, scroller.clientWidth)
    canvas.style.width = W + 'px'
    canvas.style.height = VH + 'px'
    canvas.width = Math.round(W * dpr)
    canvas.height = Math.round(VH * dpr)
    spacer.style.height = Math.max(0, CH - VH) + 'px'
    ctx.font = FONT
    CW = ctx.measureText('MMMMMMMMMM').width / 10 || 7.2
  }

  function scrollToRoot() { scroller.scrollTop = state.icicle ? 0 : CH }

  // ---- hit testing and the tooltip ----------------------------------------------------------
  function hit(ev) {
    var r = canvas.getBoundingClientRect()
    var mx = ev.clientX - r.left, my = ev.clientY - r.top + scroller.scrollTop
    var row = state.icicle ? Math.floor(my / ROW) : Math.floor((CH - my) / ROW)
    var list = byRow[row]
    if (!list) return -1
    for (var j = 0; j < list.length; j++) {
      var k = list[j]
      if (mx >= R.x[k] && mx < R.x[k] + R.w[k]) return k
    }
    return -1
  }

  function tr(table, k, v, cls) {
    var r = el('tr')
    r.appendChild(el('td', 'k', k))
    var td = el('td', cls || '', v)
    r.appendChild(td)
    table.appendChild(r)
  }

  function tooltip(k, ev) {
    while (tip.firstChild) tip.removeChild(tip.firstChild)
    var node = R.node[k]
    var tot = shapeTot()
    var all = tot[0] || 1
    var t = el('table')
    if (node < 0) {
      tip.appendChild(el('div', 'name', R.mcount[k] + ' small frames (merged for drawing)'))
      tip.appendChild(el('div', 'dim', 'each narrower than ' + MINW + ' px; click to zoom into the largest'))
      tr(t, 'total', valueText(R.mval[k]) + ' \u00b7 ' + pct(R.mval[k] / all))
      tip.appendChild(t)
    } else {
      tip.appendChild(el('div', 'name', nameOf(node)))
      if (node > 0) {
        var fr = frameOf[node]
        var file = P.fFile[fr] >= 0 ? S[P.fFile[fr]] : ''
        if (file) tip.appendChild(el('div', 'dim', file + (P.fLine[fr] ? ':' + P.fLine[fr] : '')))
        if (P.fMod[fr] >= 0 && S[P.fMod[fr]] !== file) tip.appendChild(el('div', 'dim', 'module: ' + S[P.fMod[fr]]))
        var kind = P.kinds[P.fKind[fr]] || 'unknown'
        var tags = el('div', 'dim', 'kind: ' + (KIND_LABEL[kind] || kind))
        if (isConn[fr]) tags.appendChild(el('span', 'tag', '  connect/handshake/TLS'))
        tip.appendChild(tags)
      }
      if (!DIFF) {
        tr(t, 'self', valueText(selfA[node], self2 ? self2[node] : undefined) + ' \u00b7 ' + pct(selfA[node] / all))
        tr(t, 'total', valueText(totA[node], tot2 ? tot2[node] : undefined) + ' \u00b7 ' + pct(totA[node] / all))
        if (state.zoom > 0 && node !== state.zoom && totA[state.zoom] > 0) tr(t, 'of zoom', pct(totA[node] / totA[state.zoom]))
      } else {
        var ta = totA[0] || 1, tb = totB[0] || 1
        var absMode = P.normalize === 'absolute'
        tr(t, 'before', 'total ' + fmtVal(totB[node], P.cols[0]) + ' (' + pct(totB[node] / tb) + ') \u00b7 self ' + fmtVal(selfB[node], P.cols[0]) + ' (' + pct(selfB[node] / tb) + ')')
        tr(t, 'after', 'total ' + fmtVal(totA[node], P.cols[0]) + ' (' + pct(totA[node] / ta) + ') \u00b7 self ' + fmtVal(selfA[node], P.cols[0]) + ' (' + pct(selfA[node] / ta) + ')')
        var dt = absMode ? totA[node] - totB[node] : totA[node] / ta - totB[node] / tb
        var ds = absMode ? selfA[node] - selfB[node] : selfA[node] / ta - selfB[node] / tb
        var fmtD = function (x) { return absMode ? (x >= 0 ? '+' : '\u2212') + fmtVal(Math.abs(x), P.cols[0]) : pp(x) }
        var status = totB[node] === 0 && totA[node] > 0 ? '  (new)' : totA[node] === 0 && totB[node] > 0 ? '  (gone)' : ''
        tr(t, 'change', 'total ' + fmtD(dt) + ' \u00b7 self ' + fmtD(ds) + status, dt > 0 ? 'up' : dt < 0 ? 'down' : '')
      }
      tip.appendChild(t)
    }
    tip.hidden = false
    var x = ev.clientX + 14, y = ev.clientY + 14
    var tw = tip.offsetWidth, th = tip.offsetHeight
    if (x + tw > window.innerWidth - 4) x = Math.max(4, ev.clientX - tw - 10)
    if (y + th > window.innerHeight - 4) y = Math.max(4, ev.clientY - th - 10)
    tip.style.left = x + 'px'
    tip.style.top = y + 'px'
    api.tooltipNode = node
  }

  canvas.addEventListener('mousemove', function (ev) {
    var k = hit(ev)
    if (k < 0) { tip.hidden = true; api.tooltipNode = null; return }
    tooltip(k, ev)
  })
  canvas.addEventListener('mouseleave', function () { tip.hidden = true; api.tooltipNode = null })
  canvas.addEventListener('click', function (ev) {
    var k = hit(ev)
    if (k < 0) return
    var node = R.node[k]
    if (node < 0) node = R.mbig[k]
    if (node < 0) return
    zoomTo(node)
  })
  scroller.addEventListener('scroll', function () { draw() })

  function zoomTo(node) {
    state.zoom = node
    relayout()
    updateMatchText()
  }

  // ---- breadcrumb -------------------------------------------------------------------------
  function crumbs() {
    var nav = $('crumbs')
    while (nav.firstChild) nav.removeChild(nav.firstChild)
    var chain = []
    for (var a = state.zoom; a >= 0; a = parent[a]) chain.push(a)
    chain.reverse()
    chain.forEach(function (node, idx) {
      if (idx) nav.appendChild(el('span', 'sep', '\u203a'))
      var b = el('button', '', nameOf(node))
      b.type = 'button'
      b.title = nameOf(node)
      b.addEventListener('click', function () { zoomTo(node) })
      nav.appendChild(b)
    })
    $('btn-reset').disabled = state.zoom === 0
  }

  // ---- search -----------------------------------------------------------------------------
  /** Sum of the totals of matching nodes with no matching ancestor: every sample counted once. */
  function coverage(tot, root) {
    var sum = 0
    var e = endOf[root]
    var i = root === 0 ? 1 : root
    while (i < e) {
      if (matched[frameOf[i]]) { sum += tot[i]; i = endOf[i] } else i++
    }
    return sum
  }
  function applyMatcher(test, label) {
    state.query = test ? label : null
    matched.fill(0)
    var nf = 0
    if (test) for (var f = 0; f < F; f++) if (test(fname[f], f)) { matched[f] = 1; nf++ }
    matchInfo = test ? { frames: nf } : null
    draw()
    updateMatchText()
  }
  function updateMatchText() {
    var m = $('match')
    while (m.firstChild) m.removeChild(m.firstChild)
    if (!matchInfo) { api.matchShare = null; return }
    var tot = shapeTot()
    var cov = coverage(tot, 0)
    var share = tot[0] > 0 ? cov / tot[0] : 0
    api.matchShare = share
    api.matchValue = cov
    m.appendChild(document.createTextNode(state.query + ': '))
    m.appendChild(el('b', '', pct(share)))
    m.appendChild(document.createTextNode(' of all (' + valueText(cov, tot2 && !DIFF ? coverage(tot2, 0) : undefined) + ', ' + matchInfo.frames + ' frames)'))
    if (DIFF) {
      var other = state.shape === 'before' ? totA : totB
      var oc = coverage(other, 0)
      m.appendChild(document.createTextNode(' \u00b7 ' + (state.shape === 'before' ? 'after' : 'before') + ': ' + pct(other[0] > 0 ? oc / other[0] : 0)))
    }
    if (state.zoom > 0 && tot[state.zoom] > 0) m.appendChild(document.createTextNode(' \u00b7 ' + pct(coverage(tot, state.zoom) / tot[state.zoom]) + ' of the zoomed frame'))
  }
  function parseQuery(q) {
    q = q.trim()
    if (!q) return null
    var m = /^\/(.+)\/([a-z]*)$/.exec(q)
    if (m) {
      var re = new RegExp(m[1], m[2].replace(/[gy]/g, ''))
      return function (name) { return re.test(name) }
    }
    var low = q.toLowerCase()
    return function (name) { return name.toLowerCase().indexOf(low) >= 0 }
  }
  var search = $('search')
  function onSearch() {
    var test = null
    search.classList.remove('bad')
    try { test = parseQuery(search.value) } catch (e) { search.classList.add('bad'); test = null }
    clearFindingMark()
    applyMatcher(test, 'search ' + search.value.trim())
  }
  search.addEventListener('input', onSearch)

  // ---- findings -----------------------------------------------------------------------------
  var nameSet = null
  function findingMatcher(fd) {
    if (!nameSet) { nameSet = new Set(); for (var f = 0; f < F; f++) nameSet.add(fname[f]) }
    var names = new Set()
    var res = []
    ;(fd.frames || []).forEach(function (s) {
      if (nameSet.has(s)) { names.add(s); return }
      try { res.push(new RegExp(s)) } catch (e) { names.add(s) }
    })
    return function (name) {
      if (names.has(name)) return true
      for (var i = 0; i < res.length; i++) if (res[i].test(name)) return true
      return false
    }
  }
  function clearFindingMark() {
    state.finding = -1
    var bs = document.querySelectorAll('#findings-list button')
    for (var i = 0; i < bs.length; i++) bs[i].classList.remove('on')
  }
  ;(function () {
    var list = P.findings || []
    if (!list.length) return
    $('findings').hidden = false
    var ul = $('findings-list')
    list.forEach(function (fd, idx) {
      var li = el('li')
      var b = el('button')
      b.type = 'button'
      var sev = String(fd.severity || 'info').toLowerCase()
      b.appendChild(el('span', 'sev sev-' + sev.replace(/[^a-z]/g, ''), sev))
      b.appendChild(document.createTextNode(' ' + fd.title + (typeof fd.share === 'number' ? '  (' + pct(fd.share) + ')' : '')))
      b.appendChild(el('span', 'dim', '  ' + fd.ruleId))
      if (fd.message) { b.appendChild(el('br')); b.appendChild(el('span', 'dim msg', fd.message)) }
      b.addEventListener('click', function () {
        var on = state.finding === idx
        clearFindingMark()
        search.value = ''
        search.classList.remove('bad')
        if (on) { applyMatcher(null, ''); return }
        state.finding = idx
        b.classList.add('on')
        applyMatcher(findingMatcher(fd), 'finding \u201c' + fd.title + '\u201d')
      })
      li.appendChild(b)
      ul.appendChild(li)
    })
  })()

  // ---- header, legend, buttons --------------------------------------------------------------
  function summaryParts(meta, tot, tot2v, rows, cols) {
    var parts = []
    var name = meta.name || ''
    if (meta.pid !== undefined) name += (name ? ' ' : '') + '(pid ' + meta.pid + ')'
    if (name) parts.push(['process', name])
    if (meta.command) parts.push(['command', meta.command])
    if (meta.durationNs) parts.push(['duration', fmtNs(meta.durationNs)])
    var samples = null
    if (cols[0].unit === 'count') samples = tot
    else if (cols[1] && cols[1].unit === 'count') samples = tot2v
    if (samples !== null) parts.push(['samples', group3(samples)])
    if (TIME[cols[0].unit]) parts.push(['profiled', fmtVal(tot, cols[0])])
    else if (cols[1] && TIME[cols[1].unit]) parts.push(['profiled', fmtVal(tot2v, cols[1])])
    else if (samples === null) parts.push([cols[0].type || 'value', fmtVal(tot, cols[0])])
    if (meta.cores !== undefined) {
      // the same figure as top and analyze (src/model/cpu-basis.ts)
      var cpu = fmtCores(meta.cores) + ' cores'
      if (meta.coresFrom === 'measured' && meta.cpuTimeNs) cpu += ' (' + fmtNs(meta.cpuTimeNs) + ', measured)'
      else if (meta.coresFrom === 'samples') cpu += ' (estimated from the samples)'
      parts.push(['CPU', cpu])
    }
    if (meta.weights) parts.push(['weights', meta.weights])
    if (meta.backend) parts.push(['via', meta.backend])
    else if (meta.sourceFormat) parts.push(['format', meta.sourceFormat])
    return parts
  }
  function renderParts(box, parts) {
    parts.forEach(function (p, i) {
      if (i) box.appendChild(document.createTextNode('  \u00b7  '))
      box.appendChild(document.createTextNode(p[0] + ' '))
      box.appendChild(el('b', '', p[1]))
    })
  }
  function selfByName(self) {
    var byName = new Map()
    for (var i = 1; i < N; i++) {
      if (!self[i] || isIdleNode(i)) continue
      var nm = P.fName[frameOf[i]]
      byName.set(nm, (byName.get(nm) || 0) + self[i])
    }
    return byName
  }
  ;(function header() {
    $('title').textContent = P.title
    document.title = P.title
    var box = $('summary')
    var top = $('top5')
    if (!DIFF) {
      renderParts(box, summaryParts(P.meta, fullA[0], fullT2 ? fullT2[0] : 0, P.rows, P.cols))
      var rows = Array.from(selfByName(selfA)).sort(function (a, b) { return b[1] - a[1] || (S[a[0]] < S[b[0]] ? -1 : 1) }).slice(0, 5)
      if (rows.length) top.appendChild(el('span', '', 'top self:'))
      rows.forEach(function (r) {
        var nm = r[0] >= 0 ? S[r[0]] : '(anonymous)'
        var s = el('span', 't' + (connName.has(r[0]) ? ' conn' : ''))
        s.appendChild(el('b', '', pct(totA[0] ? r[1] / totA[0] : 0)))
        s.appendChild(document.createTextNode(' ' + nm))
        s.title = nm
        top.appendChild(s)
      })
    } else {
      var bm = P.beforeMeta || {}
      var l1 = el('div')
      l1.appendChild(document.createTextNode('before: '))
      renderParts(l1, summaryParts(bm, fullB[0], 0, P.beforeRows, P.cols))
      var l2 = el('div')
      l2.appendChild(document.createTextNode('after: '))
      renderParts(l2, summaryParts(P.meta, fullA[0], 0, P.rows, P.cols))
      box.appendChild(l1)
      box.appendChild(l2)
      if (bm.cores !== undefined && P.meta.cores !== undefined) {
        var c0 = bm.cores, c1 = P.meta.cores
        box.appendChild(el('div', '', 'CPU: ' + fmtCores(c0) + ' \u2192 ' + fmtCores(c1) + ' cores (' + (c0 > 0 ? ((c1 - c0) / c0 * 100).toFixed(0) + '%' : 'new') + ')'))
      }
      box.appendChild(el('div', '', P.normalize === 'absolute' ? 'colour: absolute change of each frame\u2019s total' : 'colour: change of each frame\u2019s total as a share of its profile (percentage points)'))
      var sa = selfByName(selfA), sb = selfByName(selfB)
      var keys = new Set(Array.from(sa.keys()).concat(Array.from(sb.keys())))
      var ch = []
      keys.forEach(function (kk) { ch.push([kk, (sa.get(kk) || 0) / (totA[0] || 1) - (sb.get(kk) || 0) / (totB[0] || 1)]) })
      ch.sort(function (a, b) { return b[1] - a[1] })
      var grew = ch.filter(function (x) { return x[1] > 0.0005 }).slice(0, 3)
      var shrank = ch.filter(function (x) { return x[1] < -0.0005 }).reverse().slice(0, 3)
      ;[['grew (self):', grew, 'up'], ['shrank (self):', shrank, 'down']].forEach(function (g) {
        if (!g[1].length) return
        top.appendChild(el('span', '', g[0]))
        g[1].forEach(function (r) {
          var nm = r[0] >= 0 ? S[r[0]] : '(anonymous)'
          var s = el('span', 't')
          s.appendChild(el('b', g[2], pp(r[1])))
          s.appendChild(document.createTextNode(' ' + nm))
          s.title = nm
          top.appendChild(s)
        })
      })
    }
  })()

  ;(function legend() {
    var lg = $('legend')
    function chip(color, text) {
      var s = el('span')
      var c = el('span', 'chip')
      c.style.background = color
      s.appendChild(c)
      s.appendChild(document.createTextNode(text))
      lg.appendChild(s)
    }
    if (DIFF) {
      chip('rgb(240,40,40)', 'grew / new')
      chip('rgb(40,40,240)', 'shrank / gone')
      chip('rgb(226,228,232)', 'unchanged')
    } else {
      var present = {}
      for (var f = 0; f < F; f++) present[P.kinds[P.fKind[f]]] = true
      ;['js', 'native', 'kernel', 'gc', 'idle', 'program', 'unknown'].forEach(function (k) {
        if (present[k]) chip('hsl(' + KIND_HSL[k][0] + ',' + KIND_HSL[k][1] + '%,' + KIND_HSL[k][2] + '%)', KIND_LABEL[k])
      })
      chip(ACCENT, 'connect / handshake / TLS')
    }
    chip(MATCH, 'search match')
    chip(MERGED, 'small frames merged (kept in totals)')
  })()

  function setLayout(icicle) {
    state.icicle = icicle
    $('btn-flame').classList.toggle('on', !icicle)
    $('btn-icicle').classList.toggle('on', icicle)
    scrollToRoot()
    draw()
  }
  function setShape(shape) {
    state.shape = shape
    $('btn-after').classList.toggle('on', shape === 'after')
    $('btn-before').classList.toggle('on', shape === 'before')
    relayout()
    updateMatchText()
  }
  function setIdle(show) {
    state.showIdle = useIdle(show)
    computeDelta()
    var b = $('btn-idle')
    b.classList.toggle('on', state.showIdle)
    b.setAttribute('aria-pressed', state.showIdle ? 'true' : 'false')
    b.textContent = state.showIdle ? 'Hide idle' : 'Show idle'
    relayout()
    updateMatchText()
  }
  if (HAS_IDLE) {
    $('btn-idle').hidden = false
    $('btn-idle').addEventListener('click', function () { setIdle(!state.showIdle) })
  }
  $('btn-flame').addEventListener('click', function () { setLayout(false) })
  $('btn-icicle').addEventListener('click', function () { setLayout(true) })
  $('btn-reset').addEventListener('click', function () { zoomTo(0) })
  if (DIFF) {
    $('shapeseg').hidden = false
    $('btn-after').addEventListener('click', function () { setShape('after') })
    $('btn-before').addEventListener('click', function () { setShape('before') })
    $('btn-' + state.shape).classList.add('on')
  }
  document.addEventListener('keydown', function (ev) {
    if (ev.key === 'Escape') {
      if (document.activeElement === search && search.value) { search.value = ''; onSearch(); return }
      zoomTo(0)
    } else if ((ev.key === '/' && document.activeElement !== search) || ((ev.ctrlKey || ev.metaKey) && ev.key === 'f')) {
      ev.preventDefault()
      search.focus()
    }
  })
  var resizeTimer = 0
  window.addEventListener('resize', function () {
    if (resizeTimer) return
    resizeTimer = requestAnimationFrame(function () { resizeTimer = 0; var atRoot = !state.icicle && scroller.scrollTop + VH >= CH - 2; resize(); if (atRoot) scrollToRoot(); relayout() })
  })

  // ---- test / automation hook (read-only view of what is drawn) -----------------------------
  var api = {
    ready: false,
    firstPaintMs: 0,
    tooltipNode: null,
    matchShare: null,
    matchValue: 0,
    nodes: N,
    draws: function () { return draws },
    state: function () {
      return { zoom: state.zoom, zoomName: nameOf(state.zoom), icicle: state.icicle, shape: state.shape, showIdle: state.showIdle, query: state.query, matchShare: api.matchShare, finding: state.finding }
    },
    /** Visible rectangles in canvas CSS pixels, as drawn. */
    rects: function () {
      var out = []
      var top = scroller.scrollTop
      for (var k = 0; k < R.x.length; k++) {
        var y = rowY(R.row[k]) - top
        if (y + ROW <= 0 || y >= VH) continue
        var node = R.node[k]
        out.push({ name: node < 0 ? null : nameOf(node), node: node, merged: node < 0 ? R.mcount[k] : 0, x: R.x[k], y: y, w: R.w[k], h: ROW - 1, row: R.row[k], fill: fillOf(k), matched: node > 0 && !!matched[frameOf[node]] })
      }
      return out
    },
    /** Total weight of the current shape (every sample, idle only when shown; nothing dropped). */
    total: function () { return shapeTot()[0] },
    totalOf: function (name) {
      var s = 0
      for (var i = 1; i < N; i++) if (nameOf(i) === name) s += selfA[i]
      return s
    },
  }
  window.__meshprof = api

  // ---- go -----------------------------------------------------------------------------------
  resize()
  layout()
  crumbs()
  setLayout(state.icicle)
  if (P.highlight) {
    search.value = '/' + P.highlight + '/'
    onSearch()
  }
  api.ready = true
})()
