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

