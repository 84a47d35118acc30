/** What the smoke test of `qsb verify` is given: which deployment, and its shards. */
export interface SmokeInput {
  readonly app: string;
  readonly deployment: 'canary' | 'production';
  readonly shardIds: readonly number[];
  readonly shardCount: number;
}

/** The outcome of a smoke test; `skipped` when nothing was configured to test against. */
export interface SmokeResult {
  readonly outcome: 'ok' | 'failed' | 'skipped';
  readonly detail: string;
}

/** Sends one interaction to the deployment and checks it is answered, once, by that deployment. */
export type SmokeTester = (input: SmokeInput) => Promise<SmokeResult>;

/**
 * The smoke test against real Discord, in the test guild `QSB_SMOKE_GUILD` with `DISCORD_TOKEN`.
 * Discord lets no bot invoke a slash command, so this checks what a bot can: the guild is reachable
 * with the token, it lies on one of the deployment's shards, and `/ping` is registered.
 */
export function discordSmoke(env: NodeJS.ProcessEnv): SmokeTester | undefined {
  const guild = env.QSB_SMOKE_GUILD;
  const token = env.DISCORD_TOKEN;
  if (guild === undefined || guild === '') return undefined;
  const api = env.DISCORD_API_URL ?? 'https://discord.com/api';
  return async ({ deployment, shardIds, shardCount }) => {
    if (!/^[0-9]{17,20}$/.test(guild))
      return { outcome: 'failed', detail: `QSB_SMOKE_GUILD=${guild} is not a guild id (a snowflake)` };
    if (token === undefined || token === '')
      return { outcome: 'failed', detail: 'QSB_SMOKE_GUILD needs DISCORD_TOKEN' };
    const shard = Number((BigInt(guild) >> 22n) % BigInt(shardCount));
    if (!shardIds.includes(shard)) {
      return {
        outcome: 'failed',
        detail: `guild ${guild} is on shard ${shard}, not one of the ${deployment}'s`,
      };
    }
    const headers = { authorization: `Bot ${token}` };
    const got = await fetch(`${api}/v10/guilds/${guild}`, { headers, signal: AbortSignal.timeout(10_000) });
    if (!got.ok) return { outcome: 'failed', detail: `GET /guilds/${guild} answered HTTP ${got.status}` };
    const app = (await (await fetch(`${api}/v10/applications/@me`, { headers })).json()) as { id: string };
    const commands = (await (
      await fetch(`${api}/v10/applications/${app.id}/commands`, { headers })
    ).json()) as { name: string }[];
    if (!commands.some((c) => c.name === 'ping'))
      return { outcome: 'failed', detail: '/ping is not registered' };
    return { outcome: 'ok', detail: `guild ${guild} on shard ${shard} reachable, /ping registered` };
  };
}
