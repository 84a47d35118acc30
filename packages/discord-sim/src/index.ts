export { DiscordSimError, type DiscordSimErrorCode, DiscordSimErrorCodes } from './errors/DiscordSimError.ts';
export {
  type ActiveSimFault,
  parseSimFaultRequest,
  SIM_FAULT_TYPES,
  type SimFaultParse,
  type SimFaultRequest,
} from './faults/faultRequest.ts';
export type { GatewayEvent } from './gateway/Gateway.ts';
export {
  type IdentifyDecision,
  IdentifyLimiter,
  type IdentifyLimiterOptions,
  type SessionStartLimit,
} from './gateway/IdentifyLimiter.ts';
export { ReplayBuffer } from './gateway/ReplayBuffer.ts';
export type { SendInteractionInput, SimInteraction, SimOptionValue } from './interactions/Interactions.ts';
export {
  DEFAULT_SIM_TOKEN,
  DiscordSimDefaults,
  type DiscordSimOptionalOptions,
  type DiscordSimOptions,
  resolveSimOptions,
} from './options.ts';
export type { RestFault } from './rest/RestServer.ts';
export { type DiscordSimHandle, type SimFaults, type SimStatsOptions, startDiscordSim } from './sim.ts';
export type {
  AnswerRecord,
  CloseRecord,
  IdentifyOutcome,
  IdentifyRecord,
  InteractionRecord,
  InvalidSessionRecord,
  ResumeRecord,
  SessionStats,
  ShardStats,
  SimStats,
} from './stats.ts';
export { nodeTimers, type SimTimer, type SimTimers } from './timers.ts';
export type { TrafficCommand, TrafficOptions } from './traffic/Traffic.ts';
export { type Random, seededRandom } from './world/random.ts';
export { DISCORD_EPOCH, makeSnowflake, snowflakeTime } from './world/snowflake.ts';
export {
  createWorld,
  type SimChannel,
  type SimDmChannel,
  type SimGuild,
  type SimUser,
  type SimWorld,
} from './world/world.ts';
