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

