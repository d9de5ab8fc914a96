/** Where a command writes: kept apart from main.ts so that commands do not import the dispatcher. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
  /** Where long commands show progress; absent, they show none. */
  readonly status?: StatusLine;
}

/** A line of progress on stderr: redrawn in place on a terminal (`live`), else appended. */
export interface StatusLine {
  readonly live: boolean;
  show(text: string): void;
  /** Clears a live line before the command prints its results. */
  done(): void;
}
