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

