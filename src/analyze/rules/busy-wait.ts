// busy-wait: the process holds about a whole core for the whole window in one loop path that never
// blocks (re-polling a closed channel, a setImmediate / microtask loop, a spin on try_recv).
import { isIdleFrame } from '../classify.js'
import type { Finding, Rule, RuleContext, Severity, StackMaskInfo } from './types.js'
import { chain, cores as fmtCores, pct, shortName, trimStack } from './util.js'

/** Frames that block, park or wait: their presence means the loop yields the CPU. */
export const BLOCKING_RE = /(^|[^A-Za-z])(futex|epoll_wait|epoll_pwait|__epoll|nanosleep|clock_nanosleep|usleep|pthread_cond_(timed)?wait|sem_wait|park|park_timeout|poll_oneoff|io_getevents|io_uring_enter|do_select|__select|ppoll|sys_poll|__poll|WaitForSingleObject|Atomics\.wait|sleep|schedule_timeout|do_idle|cpu_idle)/i

/** libuv's check phase: the setImmediate queue. */
const IMMEDIATE_RE = /^processImmediate$|^(node::)?CheckImmediate|uv__run_check/

/**
 * Re-poll evidence, the scheduling kind: the loop hands control back and is scheduled again at once
 * (setImmediate / nextTick / microtask re-scheduling, sched_yield, yield_now, a spin hint).
 */
export const RESCHEDULE_RE = /^(processImmediate|runMicrotasks|processTicksAndRejections|runNextTicks)$|setImmediate|queueMicrotask|(^|[^A-Za-z])(sched_yield|yield_now|Gosched|spin_loop|cpu_relax)/

/** Re-poll evidence, the polling kind: a receive / poll that returns at once (empty, or a closed channel). */
export const POLL_CALLEE_RE = /(^|[^A-Za-z])(try_?recv|try_?poll|try_?lock|try_?read|try_?pop|recv|is_?closed|next_?event)|tryRecv|tryPop|isClosed|nextEvent|recvEvent|Disconnected/

/** Either kind (the rule's evidence). */
export const REPOLL_RE = new RegExp(`${RESCHEDULE_RE.source}|${POLL_CALLEE_RE.source}`)

/**
 * The work of a request or a computation: I/O writes, request parsing, serialisation, crypto,
 * compression. Under a loop it means the loop is busy with real work, not spinning.
 */
export const WORK_RE = /write|writev|send|flush|pars(e|er|ing)|Parser|JSON|stringify|serializ|deserializ|decode|encode|crypto|[Hh]ash|digest|Hmac|Cipher|[Ss]ign|verify|ssl|SSL|tls|TLS|aes|sha\d|compress|zlib|deflate|inflate|gzip|render|query|emit|onStreamRead|onread|afterWrite/

function isBlocking(name: string, kind: string): boolean {
  return kind === 'idle' || BLOCKING_RE.test(name)
}

export const busyWait: Rule = {
  id: 'busy-wait',
  title: 'Busy-wait',
  severity: 'high',
  source: 'builtin',
  description:
    'The process holds about a whole core for the whole window in one loop path with no blocking (no (idle), futex, ' +
    'epoll_wait, park or sleep frames), AND the path shows a loop that gives control back and is called again at once ' +
    'without doing the work of a request: a re-poll frame (setImmediate / nextTick / microtask re-scheduling, try_recv, ' +
    'a receive on a closed channel, sched_yield) on a short path. I/O writes, parsing, crypto or compute under the loop ' +
    'count against it; a hot CPU-bound path with no re-poll evidence is computation, not a finding. Needs the window length and CPU time (capture) or a profiler that records idle ' +
    'time (V8), or a perf profile with a known window.',
  remedy: 'block or park instead of re-polling: on a closed channel leave the loop (break) instead of continuing; await a real event instead of setImmediate / microtask re-scheduling',
  thresholds: {
    minCores: { default: 0.85, min: 0, description: 'average CPU cores the process (V8: the main thread) must hold over the window' },
    minPathShare: { default: 0.6, min: 0, max: 1, description: 'share of the busy (non-idle, non-blocking) samples that one path from the root must hold' },
    // 5%, not more: V8 counts a re-poll loop's own libuv turns as (idle), so a real spin on one node can
    // hold well under half of all samples (a one-node fixture: 38%, and under 25% on a loaded host); crumbs
    // are ~0.1%.
    minPathShareOfAll: { default: 0.05, min: 0, max: 1, description: 'share of ALL samples (idle included) that the path must hold: a path of a few samples on an idle thread is no spin, whatever its share of the busy ones' },
    maxBlockingShare: { default: 0.05, min: 0, max: 1, description: 'at most this share of all samples blocked: blocking / parking frames, or idle stretches of at least minIdleRunMs' },
    minIdleRunMs: { default: 10, min: 0, description: 'idle shorter than this (V8 (idle) between two setImmediate turns) is the loop polling, not blocking; at least 5 sampling periods' },
    minBusySlices: { default: 0.8, min: 0, max: 1, description: 'with timestamps: part of the window\'s time slices that must each be busy (>= minCores)' },
    maxLoopDepth: { default: 4, min: 1, description: 'a spin is a short path: frames from the re-polling loop to the leaf' },
    minShortShare: { default: 0.6, min: 0, max: 1, description: 'part of the loop\'s samples that must sit on such short paths with no work frame' },
    maxWorkShare: { default: 0.25, min: 0, max: 1, description: 'at most this part of the loop\'s samples under work frames (I/O writes, parsing, crypto, serialisation)' },
  },
  check(ctx: RuleContext): Finding[] {
    const { agg, profile: p } = ctx
    const T = agg.total
    if (T <= 0) return []
    const idle = agg.mask('idle-kind', (f) => f.kind === 'idle' || f.name === '(idle)')
    const blockingFrames = agg.mask('blocking-frames', (f) => f.kind !== 'idle' && f.name !== '(idle)' && (isBlocking(f.name, f.kind) || isIdleFrame(f)))
    const dur = agg.window.durationNs
    const waits = idleWaits(ctx, idle)
    const { rowWaiting, runs, runsIntoLoop } = waits
    let { waiting, pollIdle } = waits
    const cpu = agg.window.cpuTimeNs
    // A process that the OS measured on-CPU for most of the window cannot have waited longer than the
    // rest of it: long (idle) stretches beyond that are the sampler seeing a descheduled process on a
    // busy machine, not the event loop waiting for an event.
    if (cpu !== undefined && dur && rowWaiting && waiting > 0) {
      const maxWaiting = Math.max(0, 1 - cpu / dur) * T
      if (waiting > maxWaiting) {
        pollIdle += waiting - maxWaiting
        waiting = maxWaiting
        // Which stretches were the real waits is unknown; the time slices then judge by CPU alone.
        if (cpu / dur >= ctx.t('minCores')) rowWaiting.fill(0)
      }
    }
    let busy: number | undefined
    let busyBasis: string
    if (agg.recordsIdle && rowWaiting) { busy = (T - waiting) / T; busyBasis = pollIdle > 0 ? 'samples; idle that did not wait for an event counted as busy' : 'samples' }
    else if (cpu !== undefined && dur) { busy = cpu / dur; busyBasis = 'CPU time of the process' }
    else if (agg.recordsIdle) { busy = (T - idle.weight) / T; busyBasis = 'samples' }
    else { busy = agg.window.cores; busyBasis = 'on-CPU samples over the window' }
    if (busy === undefined) {
      ctx.skip('window length and CPU time unknown (no capture data, no idle samples): cannot tell whether a core is held for the whole window')
      return []
    }
    if (busy < ctx.t('minCores')) return []
    // blocked time is a part of the whole window (idle included), not of the on-CPU samples
    const blockingShare = Math.min(1, (waiting + blockingFrames.weight) / T)
    if (blockingShare > ctx.t('maxBlockingShare')) return []
    const busyWeight = T - idle.weight - blockingFrames.weight
    if (busyWeight <= 0) return []

    // The dominant path: from the heaviest non-idle root, descend into the heaviest child while it
    // holds minPathShare of the busy samples.
    const tot = agg.stackTotals
    const need = ctx.t('minPathShare') * busyWeight
    const node = dominantPath(ctx, idle, need)
    if (node < 0) return []
    // No finding from crumbs: the busy samples can be a handful when the profiled thread idles while
    // other threads (workers, the libuv pool) burn the process's CPU.
    if (tot[node]! < ctx.t('minPathShareOfAll') * T) return []
    const names = agg.names(node)
    // Under the path end: the heaviest leaf stacks tell what the loop does.
    const under = new Uint8Array(p.stackFrame.length)
    under[node] = 1
    for (let s = node + 1; s < under.length; s++) {
      const par = p.stackParent[s]!
      if (par >= 0 && under[par]) under[s] = 1
    }
    const stacks = agg.topStacks(under, 3, (n) => trimStack(n.map(shortName)))
    const spin = spinEvidence(ctx, node, under, busyWeight)
    // A hot path with no re-poll evidence, or a loop doing the work of requests: computation, not a spin.
    if (!spin) return []
    const repoll = spin.frame

    // The whole window: every time slice busy.
    const { busySlices, slices } = busySliceShare(ctx, idle, rowWaiting)
    if (busySlices !== undefined && busySlices < ctx.t('minBusySlices')) return []

    const pathShare = agg.share(tot[node]!)
    const pathOfBusy = tot[node]! / busyWeight
    const severity: Severity = 'high'
    const leaf = stacks[0]?.frames ?? names
    const shown = chain([...names.map(shortName), ...leaf.slice(names.length)], 6)
    const notes: string[] = []
    notes.push(`${busy >= 0.995 ? 'a whole' : busy.toFixed(2)} core${busy >= 0.995 || busy > 1 ? '' : 's'} busy over ${dur ? (dur / 1e9).toFixed(1) + ' s' : 'the window'} (${busyBasis}); blocked / parked: ${pct(blockingShare)} of samples`)
    notes.push(`the path holds ${pct(pathOfBusy)} of the busy samples (${pct(tot[node]! / T)} of all samples)`)
    if (pollIdle > 0) notes.push(`the event loop never waited for an event: ${runsIntoLoop} of ${runs} idle stretches (${pct(pollIdle / T)} of samples: polling, or the OS running other processes) went straight back into the immediate queue`)
    if (cpu !== undefined && dur && cpu / dur < busy - 0.1) notes.push(`the OS gave it ${(cpu / dur).toFixed(2)} cores of CPU time: the machine was shared; alone it takes a whole core`)
    if (busySlices !== undefined) notes.push(`busy in ${Math.round(busySlices * slices)} of ${slices} time slices`)
    else notes.push('no per-sample timestamps: steadiness over the window not checked')
    notes.push(`re-polling loop: ${shortName(repoll)} hands control back and is called again at once, never parking; ${pct(spin.shortShare)} of the loop's samples are on paths of at most ${ctx.t('maxLoopDepth')} frames with no work (I/O, parsing, crypto) under them, ${pct(spin.workShare)} under work frames`)
    const numbers: Record<string, number | string> = {
      busyCores: round(busy),
      pathShare: round(pathShare),
      pathShareOfBusy: round(pathOfBusy),
      pathShareOfAll: round(tot[node]! / T),
      blockingShare: round(blockingShare),
      pollIdleShare: round(pollIdle / T),
      loopShortShare: round(spin.shortShare),
      loopWorkShare: round(spin.workShare),
      path: names.map(shortName).join(';'),
    }
    if (busySlices !== undefined) numbers.busySlices = round(busySlices)
    numbers.repollFrame = shortName(repoll)
    return [ctx.finding({
      severity,
      share: pathShare,
      cores: Math.min(busy, 1),
      message: `one loop path holds ${busy >= 0.995 ? 'a whole core' : `${Math.min(busy, 1).toFixed(2)} cores`} with no blocking: ${shown}`,
      frames: [...new Set([...names.slice(-3), ...leaf.slice(-2)].map(shortName))],
      evidence: { stacks, numbers, notes },
    })]
  },
}

/**
 * Spin evidence on or under the dominant path: the outermost re-poll frame on the path (or the
 * heaviest one under its end), and the loop it belongs to (the frame itself for a re-scheduling
 * frame, its caller for a receive / poll) doing no work: most of the loop's samples on short paths
 * with no work frame, few under work frames.
 */
function spinEvidence(ctx: RuleContext, node: number, under: Uint8Array, busyWeight: number): { frame: string; shortShare: number; workShare: number } | undefined {
  const { agg, profile: p } = ctx
  const tot = agg.stackTotals
  const names = agg.frameNames
  const isIdleStack = (s: number) => { const f = p.frames[p.stackFrame[s]!]!; return f.kind === 'idle' || f.name === '(idle)' }
  let r = -1
  const path: number[] = []
  for (let s = node; s >= 0; s = p.stackParent[s]!) path.unshift(s)
  for (const s of path) if (REPOLL_RE.test(names[p.stackFrame[s]!]!)) { r = s; break }
  if (r < 0) {
    for (let s = node + 1; s < under.length; s++) {
      if (!under[s] || !REPOLL_RE.test(names[p.stackFrame[s]!]!)) continue
      if (r < 0 || tot[s]! > tot[r]!) r = s
    }
    if (r >= 0 && tot[r]! < 0.3 * tot[node]!) r = -1
  }
  if (r < 0 || tot[r]! < 0.3 * busyWeight) return undefined
  const frame = names[p.stackFrame[r]!]!
  const loop = RESCHEDULE_RE.test(frame) || p.stackParent[r]! < 0 ? r : p.stackParent[r]!
  // per stack under the loop: depth below it, and whether a work frame sits between it and the leaf
  const depth = agg.depths
  const inLoop = new Uint8Array(p.stackFrame.length)
  const work = new Uint8Array(p.stackFrame.length)
  inLoop[loop] = 1
  const w = agg.stackWeights
  let loopW = w[loop]!
  let shortW = w[loop]!
  let workW = 0
  for (let s = loop + 1; s < inLoop.length; s++) {
    const par = p.stackParent[s]!
    if (par < 0 || !inLoop[par]) continue
    inLoop[s] = 1
    work[s] = work[par]! | (WORK_RE.test(names[p.stackFrame[s]!]!) ? 1 : 0)
    if (w[s]! <= 0 || isIdleStack(s)) continue
    loopW += w[s]!
    if (work[s]) workW += w[s]!
    else if (depth[s]! - depth[loop]! <= ctx.t('maxLoopDepth')) shortW += w[s]!
  }
  if (loopW <= 0) return undefined
  const shortShare = shortW / loopW
  const workShare = workW / loopW
  if (shortShare < ctx.t('minShortShare') || workShare > ctx.t('maxWorkShare')) return undefined
  return { frame, shortShare, workShare }
}

function round(x: number, d = 4): number {
  const m = 10 ** d
  return Math.round(x * m) / m
}

/**
 * Idle that waits: runs of consecutive idle samples of at least minIdleRunMs that do not end in
 * the immediate queue. An idle stretch followed straight by processImmediate was libuv polling
 * with timeout 0 (immediates were pending), or the OS running something else: no wait at all.
 */
function idleWaits(ctx: RuleContext, idle: StackMaskInfo) {
  const { agg, profile: p } = ctx
  const dur = agg.window.durationNs
  let waiting = idle.weight
  let rowWaiting: Uint8Array | undefined
  let pollIdle = 0
  let runs = 0
  let runsIntoLoop = 0
  if (p.times && idle.weight > 0 && dur) {
    const minRun = Math.max(ctx.t('minIdleRunMs') * 1e6, 5 * (p.meta.periodNs ?? 0))
    const col = p.values[agg.value]!
    const neutral = agg.mask('program-gc', (f) => f.kind === 'program' || f.kind === 'gc')
    const immediate = agg.mask('immediate-queue', (f) => IMMEDIATE_RE.test(f.name))
    rowWaiting = new Uint8Array(p.sampleStack.length)
    waiting = 0
    const n = p.sampleStack.length
    const isIdleRow = (r: number) => { const s = p.sampleStack[r]!; return s >= 0 && idle.stacks[s] === 1 }
    const found: { r: number; e: number; w: number; long: boolean; direct: boolean; soon: boolean }[] = []
    let r = 0
    while (r < n) {
      if (!isIdleRow(r)) { r++; continue }
      let e = r
      let w = 0
      while (e < n && isIdleRow(e)) { w += col[e]!; e++ }
      let next = e
      while (next < n && (p.sampleStack[next]! < 0 || neutral.stacks[p.sampleStack[next]!] || idle.stacks[p.sampleStack[next]!])) next++
      const direct = next < n && p.sampleStack[next]! >= 0 && immediate.stacks[p.sampleStack[next]!] === 1
      // the immediate queue runs before the loop goes idle again (an I/O callback came first)
      let soon = direct
      for (let k = e; !soon && k < n && !isIdleRow(k); k++) { const st = p.sampleStack[k]!; if (st >= 0 && immediate.stacks[st]) soon = true }
      const endT = e < n ? p.times[e]! : dur
      found.push({ r, e, w, long: endT - p.times[r]! >= minRun, direct, soon })
      r = e
    }
    runs = found.length
    runsIntoLoop = found.filter((x) => x.direct).length
    // When nearly every idle stretch goes straight into the immediate queue, the loop never waits:
    // a stretch that first runs an I/O callback and then the immediate queue did not wait either.
    const loopNeverWaits = runs > 0 && runsIntoLoop >= 0.8 * runs
    for (const x of found) {
      const polling = x.direct || (loopNeverWaits && x.soon)
      if (x.long && !polling) {
        waiting += x.w
        for (let k = x.r; k < x.e; k++) rowWaiting[k] = 1
      } else pollIdle += x.w
    }
  }
  return { waiting, rowWaiting, pollIdle, runs, runsIntoLoop }
}

/** From the heaviest non-idle root, descend into the heaviest child while it holds `need`; -1 if none. */
function dominantPath(ctx: RuleContext, idle: StackMaskInfo, need: number): number {
  const { agg, profile: p } = ctx
  const tot = agg.stackTotals
  const children = new Map<number, number[]>()
  const roots: number[] = []
  for (let s = 0; s < p.stackParent.length; s++) {
    if (idle.stacks[s]) continue
    const par = p.stackParent[s]!
    if (par < 0) roots.push(s)
    else {
      let c = children.get(par)
      if (!c) children.set(par, (c = []))
      c.push(s)
    }
  }
  const heaviest = (xs: number[] | undefined) => (xs ?? []).reduce((b, s) => (b < 0 || tot[s]! > tot[b]! ? s : b), -1)
  let node = heaviest(roots)
  if (node < 0 || tot[node]! < need) return -1
  for (;;) {
    const c = heaviest(children.get(node))
    if (c < 0 || tot[c]! < need) break
    node = c
  }
  return node
}

/** With timestamps: the part of the window's time slices that are each busy (>= minCores). */
function busySliceShare(ctx: RuleContext, idle: StackMaskInfo, rowWaiting: Uint8Array | undefined): { busySlices?: number; slices: number } {
  const { agg, profile: p } = ctx
  const T = agg.total
  const dur = agg.window.durationNs
  let busySlices: number | undefined
  let slices = 0
  if (p.times && dur && dur > 0) {
    slices = Math.max(4, Math.min(20, Math.round(dur / 250e6)))
    const width = dur / slices
    const tot2 = new Float64Array(slices)
    const lng = new Float64Array(slices)
    const col = p.values[agg.value]!
    for (let r = 0; r < p.sampleStack.length; r++) {
      const b = Math.min(slices - 1, Math.max(0, Math.floor(p.times[r]! / width)))
      tot2[b]! += col[r]!
      const s = p.sampleStack[r]!
      if (rowWaiting ? rowWaiting[r] : s >= 0 && idle.stacks[s]) lng[b]! += col[r]!
    }
    const per = agg.recordsIdle ? undefined : T / (agg.window.cores ?? 1) / slices
    let ok = 0
    for (let i = 0; i < slices; i++) {
      const frac = per === undefined ? (tot2[i]! > 0 ? (tot2[i]! - lng[i]!) / tot2[i]! : 0) : tot2[i]! / per
      if (frac >= ctx.t('minCores')) ok++
    }
    busySlices = ok / slices
  }
  return { busySlices, slices }
}
