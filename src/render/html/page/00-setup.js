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

