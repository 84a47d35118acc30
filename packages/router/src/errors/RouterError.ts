/**
 * Stable codes of {@link RouterError}. Operators alert on codes; messages may change.
 */
export const RouterErrorCodes = {
  InvalidPercent: 'INVALID_PERCENT',
  InvalidPlan: 'INVALID_PLAN',
  MoveInProgress: 'MOVE_IN_PROGRESS',
  NoPlan: 'NO_PLAN',
  Conflict: 'PLAN_CONFLICT',
} as const;

export type RouterErrorCode = (typeof RouterErrorCodes)[keyof typeof RouterErrorCodes];

const messages: Record<RouterErrorCode, (detail: string) => string> = {
  INVALID_PERCENT: (detail) => `invalid percent: ${detail}`,
  INVALID_PLAN: (detail) => `the routing plan in the store is not valid: ${detail}`,
  MOVE_IN_PROGRESS: (detail) => `a move is already in progress: ${detail}`,
  NO_PLAN: (detail) => `no routing plan in the store: ${detail}`,
  PLAN_CONFLICT: (detail) => `the routing plan changed under this command: ${detail}`,
};

/**
 * Raised by the router for a move it refuses (a percent out of range, another move under way) or a
 * plan it cannot read. Refusals happen before anything is written.
 */
export class RouterError extends Error {
  public readonly code: RouterErrorCode;
  public readonly detail: string;

  public constructor(code: RouterErrorCode, detail: string) {
    super(messages[code](detail));
    this.code = code;
    this.detail = detail;
  }

  public override get name(): string {
    return `RouterError[${this.code}]`;
  }
}
