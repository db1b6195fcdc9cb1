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

