// A stack trie for the bulk importers (pprof, cpuprofile): (parent stack, frame) -> stack id in an
// open-addressing hash over typed arrays. The model's ProfileBuilder keeps a Map per trie node,
// which is fine for small inputs but costs ~100 bytes and an allocation per stack; a 440k-sample
// pprof can have millions of stack nodes. Stack ids are dense and parents always precede children,
// as the Profile invariants require.
//
// Walking a sample root-first, once one node had to be created every deeper node is new as well
// (a new node has no children yet): callers pass that knowledge to `append`, which inserts without
// searching. That skips most of the random memory reads on profiles whose leaves rarely repeat.

const MAX_LOAD = 0.7

export class StackTrie {
  private frame: Int32Array
  private parent: Int32Array
  private n = 0
  /** Hash slots hold stack id + 1 (0 = empty). */
  private slots: Int32Array
  private mask: number
  private limit: number

  constructor(expected = 1024) {
    let cap = 1024
    while (cap * MAX_LOAD < expected) cap *= 2
    this.slots = new Int32Array(cap)
    this.mask = cap - 1
    this.limit = Math.floor(cap * MAX_LOAD)
    this.frame = new Int32Array(Math.max(16, expected))
    this.parent = new Int32Array(Math.max(16, expected))
  }

  get size(): number {
    return this.n
  }

  /** Stack id for `frame` called from stack `parent` (-1 = root). Sets `created` when it is new. */
  child(parent: number, frame: number): number {
    if (this.frozen) throw new Error('StackTrie used after arrays()')
    let h = Math.imul(parent + 1, 0x9e3779b1) ^ Math.imul(frame + 0x7f4a7c15, 0x85ebca77)
    h ^= h >>> 15
    const mask = this.mask
    const slots = this.slots
    const fr = this.frame
    const pa = this.parent
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const s = slots[i]!
      if (s === 0) {
        this.created = true
        return this.insertAt(i, parent, frame)
      }
      const id = s - 1
      if (fr[id] === frame && pa[id] === parent) {
        this.created = false
        return id
      }
    }
  }

  /** True when the last child() call created its node. */
  created = false

  /**
   * Stack id for `frame` under `parent`, where the caller knows `parent` has no child `frame` yet
   * (it was created during this same root-to-leaf walk). Inserts without comparing keys.
   */
  append(parent: number, frame: number): number {
    if (this.frozen) throw new Error('StackTrie used after arrays()')
    let h = Math.imul(parent + 1, 0x9e3779b1) ^ Math.imul(frame + 0x7f4a7c15, 0x85ebca77)
    h ^= h >>> 15
    const mask = this.mask
    const slots = this.slots
    let i = h & mask
    while (slots[i] !== 0) i = (i + 1) & mask
    return this.insertAt(i, parent, frame)
  }

  private insertAt(slot: number, parent: number, frame: number): number {
    const id = this.n
    if (id >= this.frame.length) this.growArrays()
    this.frame[id] = frame
    this.parent[id] = parent
    this.n = id + 1
    this.slots[slot] = id + 1
    if (this.n > this.limit) this.rehash()
    return id
  }

  private growArrays(): void {
    const cap = Math.ceil(this.frame.length * 1.5) + 16
    const f = new Int32Array(cap)
    f.set(this.frame)
    const p = new Int32Array(cap)
    p.set(this.parent)
    this.frame = f
    this.parent = p
  }

  private frozen = false

  private rehash(): void {
    const cap = this.slots.length * 2
    this.slots = new Int32Array(0) // let the old table go before allocating the new one
    const slots = new Int32Array(cap)
    const mask = cap - 1
    const fr = this.frame
    const pa = this.parent
    for (let id = 0; id < this.n; id++) {
      let h = Math.imul(pa[id]! + 1, 0x9e3779b1) ^ Math.imul(fr[id]! + 0x7f4a7c15, 0x85ebca77)
      h ^= h >>> 15
      let i = h & mask
      while (slots[i] !== 0) i = (i + 1) & mask
      slots[i] = id + 1
    }
    this.slots = slots
    this.mask = mask
    this.limit = Math.floor(cap * MAX_LOAD)
  }

  /**
   * The trie as the Profile's stackFrame / stackParent arrays. Views, not copies (a copy of a
   * multi-million-node trie would double its memory at the peak); the hash table is released.
   */
  arrays(): { stackFrame: Int32Array; stackParent: Int32Array } {
    this.slots = new Int32Array(0)
    this.frozen = true
    return { stackFrame: this.frame.subarray(0, this.n), stackParent: this.parent.subarray(0, this.n) }
  }
}
