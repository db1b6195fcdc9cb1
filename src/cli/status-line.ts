// A progress line on a terminal that a child's output cannot mix with: the terminal's last row is
// kept out of the scrolling region (DECSTBM), so whatever `meshprof run`'s command writes to the same
// terminal scrolls above it, and the line is redrawn in place. Only on a terminal with a known size;
// elsewhere (a pipe, a file, CI) there is no progress line at all.
export class StatusLine {
  private rows = 0

  private constructor(private readonly stream: NodeJS.WriteStream) {}

  static on(stream: NodeJS.WriteStream): StatusLine | undefined {
    return stream.isTTY && stream.rows >= 3 ? new StatusLine(stream) : undefined
  }

  show(text: string): void {
    const rows = this.stream.rows
    let seq = ''
    if (this.rows === 0) {
      // Make room at the bottom (scrolls if the cursor is on the last row), and give the terminal back
      // even if meshprof dies.
      seq += '\n\x1b[1A'
      process.once('exit', () => this.close())
    }
    // ESC 7 / ESC 8 save and restore the cursor around every jump: setting the region homes it.
    if (rows !== this.rows) seq += `\x1b7\x1b[1;${rows - 1}r\x1b8`
    this.rows = rows
    const line = text.slice(0, Math.max(1, (this.stream.columns || 80) - 1))
    this.stream.write(`${seq}\x1b7\x1b[${rows};1H\x1b[2K${line}\x1b8`)
  }

  close(): void {
    if (this.rows === 0) return
    this.stream.write(`\x1b7\x1b[${this.rows};1H\x1b[2K\x1b[r\x1b8`)
    this.rows = 0
  }
}
