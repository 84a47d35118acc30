import { type DiscordSimHandle, startDiscordSim, type TrafficCommand } from '@qsb/discord-sim';

/** The local Discord of the demo and its synthetic users. */
export interface DemoDiscordOptions {
  readonly shards: number;
  readonly guilds: number;
  /** Interactions per second, all commands together (accelerated: a real bot of this size sees fewer). */
  readonly ratePerSecond: number;
  readonly seed: number;
  /** One IDENTIFY per bucket per this many ms; the bots are told the same. */
  readonly identifyWindowMs: number;
}

/**
 * What users send: mostly /ping, the flag-gated /quantum (on for the canary's guilds only), and a
 * trickle of /report. Weights are shares of the traffic.
 */
export const COMMAND_MIX: readonly TrafficCommand[] = [
  { name: 'ping', weight: 75 },
  { name: 'quantum', weight: 20 },
  { name: 'report', weight: 5, options: { text: 'the answer looked wrong' } },
];

/**
 * Starts the local Discord with every shard in one identify bucket set (`max_concurrency` = the shard
 * count, as Discord grants large bots), so that a restart is READY in about one identify window.
 */
export async function startDemoDiscord(options: DemoDiscordOptions): Promise<DiscordSimHandle> {
  return startDiscordSim({
    shards: options.shards,
    guilds: options.guilds,
    seed: options.seed,
    maxConcurrency: options.shards,
    identifyWindowMs: options.identifyWindowMs,
    // Short heartbeats: a dead connection is noticed within seconds, not 41.
    heartbeatIntervalMs: 5_000,
  });
}

/** Starts the synthetic users. */
export function startUsers(sim: DiscordSimHandle, ratePerSecond: number): void {
  sim.traffic.start({ ratePerSecond, commands: COMMAND_MIX });
}
