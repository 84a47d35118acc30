import { DiscordSimDefaults, DiscordSimError, startDiscordSim } from '@qsb/discord-sim';
import { Command, InvalidArgumentError } from 'commander';
import type { CliContext } from '../cli/context.ts';
import { CliError } from '../cli/errors.ts';
import { integerIn } from '../cli/options.ts';

interface SimFlags {
  port: number;
  guilds: number;
  shards: number;
  maxConcurrency: number;
  identifyWindowMs: number;
  rate: number;
  token?: string;
  seed: number;
  commands: string[];
}

function rateArg(value: string): number {
  const n = Number(value);
  if (!/^[0-9]+(?:\.[0-9]+)?$/.test(value) || n > 1_000_000) {
    throw new InvalidArgumentError('must be a number of events per second from 0 to 1000000.');
  }
  return n;
}

function commandsArg(value: string): string[] {
  const names = value.split(',').map((s) => s.trim());
  if (names.some((n) => !/^[-_a-z0-9]{1,32}$/.test(n))) {
    throw new InvalidArgumentError(
      'must be comma-separated command names (lowercase, 1 to 32 of a-z 0-9 - _).',
    );
  }
  return names;
}

/** `qsb sim`: runs the local Discord until SIGINT/SIGTERM; the first stdout line says where it listens. */
export function simCommand({ out, err, signal }: CliContext): Command {
  return new Command('sim')
    .description(
      'Run the local Discord (gateway v10 and REST on 127.0.0.1) until SIGINT/SIGTERM. The first line of stdout is one JSON object with its api and gateway URLs, and its stats and faults URLs (POST a JSON fault to break it while bots run).',
    )
    .option('--port <p>', 'TCP port on 127.0.0.1 (0: a free one)', integerIn(0, 65_535), 0)
    .option('--guilds <g>', 'guilds in the world', integerIn(0, 1_000_000), DiscordSimDefaults.guilds)
    .option(
      '--shards <s>',
      'shard count GET /gateway/bot recommends',
      integerIn(1, 1 << 20),
      DiscordSimDefaults.shards,
    )
    .option(
      '--max-concurrency <m>',
      'identify buckets (session_start_limit.max_concurrency)',
      integerIn(1, 1024),
      DiscordSimDefaults.maxConcurrency,
    )
    .option(
      '--identify-window-ms <t>',
      'one IDENTIFY per bucket per this many ms',
      integerIn(0, 86_400_000),
      DiscordSimDefaults.identifyWindowMs,
    )
    .option(
      '--rate <r>',
      'traffic: slash-command interactions per second spread over guilds by size',
      rateArg,
      0,
    )
    .option('--commands <names>', 'traffic: comma-separated command names', commandsArg, ['ping'])
    .option('--token <t>', 'bot token accepted (default: DEFAULT_SIM_TOKEN of @qsb/discord-sim)')
    .option('--seed <n>', 'seed of the world (same seed, same guild ids)', integerIn(0, 2 ** 31 - 1), 1)
    .action(async (flags: SimFlags) => {
      let sim: Awaited<ReturnType<typeof startDiscordSim>>;
      try {
        sim = await startDiscordSim({
          port: flags.port,
          guilds: flags.guilds,
          shards: flags.shards,
          maxConcurrency: flags.maxConcurrency,
          identifyWindowMs: flags.identifyWindowMs,
          seed: flags.seed,
          ...(flags.token === undefined ? {} : { token: flags.token }),
        });
      } catch (error) {
        if (error instanceof DiscordSimError)
          throw new CliError(error.message.replace(/^invalid local Discord option: /, '--'));
        if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
          throw new CliError(`--port ${flags.port}: the port is already in use on 127.0.0.1`);
        }
        throw error;
      }
      out(
        JSON.stringify({
          api: sim.apiUrl,
          gateway: sim.gatewayUrl,
          stats: `http://127.0.0.1:${sim.port}/__sim/stats`,
          faults: `http://127.0.0.1:${sim.port}/__sim/faults`,
          port: sim.port,
          token: sim.token,
          guilds: sim.world.guilds.length,
          shards: flags.shards,
          maxConcurrency: flags.maxConcurrency,
          identifyWindowMs: flags.identifyWindowMs,
        }),
      );
      if (flags.rate > 0) sim.traffic.start({ ratePerSecond: flags.rate, commands: flags.commands });
      if (!signal.aborted)
        await new Promise<void>((resolve) =>
          signal.addEventListener('abort', () => resolve(), { once: true }),
        );
      const stats = sim.stats();
      await sim.close();
      err(
        `qsb sim: stopped; ${stats.identifies.length} identifies, ${stats.interactions.dispatched} interactions (answered once: ${stats.interactions.answered.one}, never: ${stats.interactions.answered.zero}, twice or more: ${stats.interactions.answered.twoOrMore}, too late (expired): ${stats.interactions.answered.expired})`,
      );
    });
}
