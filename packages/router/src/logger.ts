/** The logging the router needs: pino's `info` and `warn` fit. */
export interface RouterLogger {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

/** A logger that drops everything. */
export const silentLogger: RouterLogger = { info: () => undefined, warn: () => undefined };
