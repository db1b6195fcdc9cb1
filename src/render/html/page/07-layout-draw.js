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

