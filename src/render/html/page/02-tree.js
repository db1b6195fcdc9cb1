  // ---- tree -------------------------------------------------------------------------------
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

