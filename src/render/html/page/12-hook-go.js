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
