export {
  type AnswerDecision,
  type AnswerReason,
  type LeaseView,
  type RouteSelf,
  shouldAnswer,
  snowflakeAt,
  snowflakeTime,
} from './decide/shouldAnswer.ts';
export { RouterError, type RouterErrorCode, RouterErrorCodes } from './errors/RouterError.ts';
export { type RouterLogger, silentLogger } from './logger.ts';
export {
  type FollowPlanOptions,
  followPlan,
  type PlanFollowing,
  type RoutedShards,
} from './member/followPlan.ts';
export { RouteMember, type RouteMemberOptions, type RouteMemberSnapshot } from './member/RouteMember.ts';
export { cancelMove, type MoveStep, missingAcks, nextMoveStep, startMove } from './move/steps.ts';
export {
  type BootPlan,
  checkPercent,
  DefaultRouteTimings,
  initialPlan,
  movedAtCutover,
  moving,
  movingShards,
  ownerAt,
  PlanKey,
  parsePlan,
  type RouteMove,
  type RouteOwner,
  type RoutePhase,
  RoutePhases,
  type RouteTimings,
  type RoutingPlan,
  ruleOwner,
  shardsOf,
} from './plan/plan.ts';
export {
  ackKey,
  type MoveAck,
  memberLease,
  readAcks,
  readOrBootPlan,
  readPlan,
  type StoredPlan,
} from './plan/planStore.ts';
export {
  createRouter,
  type MoveOptions,
  type MovePreview,
  type MoveProgress,
  type RouteHolding,
  type Router,
  type RouterOptions,
  type RouteStatus,
} from './router.ts';
