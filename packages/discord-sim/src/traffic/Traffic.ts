import { GatewayDispatchEvents, GatewayIntentBits } from 'discord-api-types/v10';
import type { Gateway } from '../gateway/Gateway.ts';
import { messagePayload } from '../gateway/payloads.ts';
import type { SendInteractionInput, SimOptionValue } from '../interactions/Interactions.ts';
import type { Random } from '../world/random.ts';
import type { SnowflakeFactory } from '../world/snowflake.ts';
import type { SimGuild, SimWorld } from '../world/world.ts';

/** A command in a weighted mix, with the options users send with it. */
export interface TrafficCommand {
  readonly name: string;
  /** Relative frequency; default 1. */
  readonly weight?: number;
  /** Option values sent with every invocation (e.g. `{ text: 'it broke' }` for a required option). */
  readonly options?: Readonly<Record<string, SimOptionValue>>;
}

/** What the traffic generator sends. */
export interface TrafficOptions {
  /** Events per second, interactions and messages together. */
  readonly ratePerSecond: number;
  /**
   * Slash commands to invoke: names (chosen uniformly) or {@link TrafficCommand}s chosen by weight.
   * Empty: messages only.
   */
  readonly commands: readonly (string | TrafficCommand)[];
  /** Share of events that are MESSAGE_CREATE instead of interactions, 0..1; default 0. */
  readonly messageShare?: number;
}

export interface TrafficContext {
  readonly world: SimWorld;
  readonly gateway: Pick<Gateway, 'dispatch'>;
  readonly random: Random;
  readonly ids: SnowflakeFactory;
  readonly now: () => number;
  readonly sendInteraction: (input: SendInteractionInput) => unknown;
}

/** Ticks per second; each tick sends the events owed since the last one. */
const TICK_MS = 10;

/**
 * Interactions and messages at a steady rate, spread over guilds in proportion to their size
 * (a guild of 10,000 members sees a thousand times the traffic of a guild of 10).
 */
export class Traffic {
  readonly #ctx: TrafficContext;
  readonly #cumulative: number[];
  #timer: NodeJS.Timeout | null = null;
  #owed = 0;
  #last = 0;
  public sent = 0;

  public constructor(ctx: TrafficContext) {
    this.#ctx = ctx;
    this.#last = ctx.now();
    let total = 0;
    this.#cumulative = ctx.world.guilds.map((g) => {
      total += g.memberCount;
      return total;
    });
  }

  /** A guild drawn with probability proportional to its member count. */
  public pickGuild(): SimGuild | undefined {
    const guilds = this.#ctx.world.guilds;
    const total = this.#cumulative.at(-1) ?? 0;
    const x = this.#ctx.random() * total;
    let lo = 0;
    let hi = guilds.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((this.#cumulative[mid] ?? 0) > x) hi = mid;
      else lo = mid + 1;
    }
    return guilds[lo];
  }

  public start(options: TrafficOptions): void {
    this.stop();
    this.#last = this.#ctx.now();
    this.#owed = 0;
    this.#timer = setInterval(() => this.#tick(options), TICK_MS);
  }

  /** Sends the events owed since the last tick; exposed so tests can drive it with a fake clock. */
  public tick(options: TrafficOptions): number {
    return this.#tick(options);
  }

  #tick(options: TrafficOptions): number {
    const now = this.#ctx.now();
    this.#owed += ((now - this.#last) / 1000) * options.ratePerSecond;
    this.#last = now;
    let n = 0;
    while (this.#owed >= 1) {
      this.#owed--;
      this.#one(options);
      n++;
    }
    this.sent += n;
    return n;
  }

  /** A command drawn by weight (uniformly when none has a weight). */
  #pickCommand(commands: TrafficOptions['commands']): TrafficCommand | undefined {
    const weightOf = (c: string | TrafficCommand) => (typeof c === 'string' ? 1 : (c.weight ?? 1));
    let x = this.#ctx.random() * commands.reduce((sum, c) => sum + weightOf(c), 0);
    for (const c of commands) {
      x -= weightOf(c);
      if (x < 0) return typeof c === 'string' ? { name: c } : c;
    }
    const last = commands.at(-1);
    return typeof last === 'string' ? { name: last } : last;
  }

  #one(options: TrafficOptions): void {
    const guild = this.pickGuild();
    if (!guild) return;
    const share = options.messageShare ?? 0;
    const command = this.#pickCommand(options.commands);
    if (command === undefined || this.#ctx.random() < share) {
      const channel =
        guild.channels[Math.floor(this.#ctx.random() * guild.channels.length)] ?? guild.channels[0];
      const author =
        guild.members[Math.floor(this.#ctx.random() * guild.members.length)] ?? this.#ctx.world.dm.user;
      if (!channel) return;
      this.#ctx.gateway.dispatch({
        t: GatewayDispatchEvents.MessageCreate,
        guildId: guild.id,
        intent: GatewayIntentBits.GuildMessages,
        d: messagePayload({
          id: this.#ctx.ids.next(),
          channelId: channel.id,
          guildId: guild.id,
          author,
          content: 'hello',
          at: this.#ctx.now(),
        }),
      });
      return;
    }
    this.#ctx.sendInteraction({
      guildId: guild.id,
      command: command.name,
      ...(command.options ? { options: command.options } : {}),
    });
  }

  public stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }
}
