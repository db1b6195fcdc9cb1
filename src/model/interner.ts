// Strings to dense ids in first-seen order (string tables, frame texts, process names).

export class Interner {
  /** `list[id]` is the string of `id`. */
  readonly list: string[] = []
  private readonly ids = new Map<string, number>()

  constructor(initial: readonly string[] = []) {
    for (const s of initial) this.id(s)
  }

  id(s: string): number {
    let i = this.ids.get(s)
    if (i === undefined) {
      i = this.list.length
      this.list.push(s)
      this.ids.set(s, i)
    }
    return i
  }
}
