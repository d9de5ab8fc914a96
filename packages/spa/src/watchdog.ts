/**
 * The words a pipeline's watchdog stops a stage with. A branch point reports them in
 * `spa:report`; the server, which trusts no reporter's text, reads the numbers back out and
 * says them again in this same form to the subscribers (signaling-server, reportSpas).
 */
export interface WatchdogStop {
  readonly stage: string;
  readonly ranMs: number;
  readonly budgetMs: number;
}

export function watchdogMessage({ stage, ranMs, budgetMs }: WatchdogStop): string {
  return `${stage} ran ${ranMs} ms on one chunk (budget ${budgetMs} ms) and was stopped`;
}

/** The stop a watchdog message describes, or undefined for any other text. */
export function readWatchdogMessage(text: string): WatchdogStop | undefined {
  const match = /^(\S+) ran (\d{1,9}) ms on one chunk \(budget (\d{1,9}) ms\) and was stopped$/.exec(text);
  return match ? { stage: match[1]!, ranMs: Number(match[2]), budgetMs: Number(match[3]) } : undefined;
}
