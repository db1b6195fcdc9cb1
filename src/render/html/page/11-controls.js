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
      ;['js', 'native', 'kernel', 'gc', 'idle', 'program', 'thread', 'unknown'].forEach(function (k) {
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

