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

