/** Structured logs: one JSON object per line, so they can be grepped and shipped as they are. */
export type Level = 'debug' | 'info' | 'warn' | 'error';

export interface Logger {
  log(level: Level, event: string, fields?: Record<string, unknown>): void;
}

export function jsonLogger(write: (line: string) => void, minLevel: Level = 'info'): Logger {
  const order: Level[] = ['debug', 'info', 'warn', 'error'];
  const threshold = order.indexOf(minLevel);
  return {
    log(level, event, fields = {}) {
      if (order.indexOf(level) < threshold) return;
      write(JSON.stringify({ time: new Date().toISOString(), level, event, ...fields }));
    },
  };
}

export const silentLogger: Logger = { log() {} };
