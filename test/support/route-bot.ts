// A bot process that follows the routing plan: one discord.js client per shard it wants, answering an
// interaction only when its RouteMember says so. It stands for the runtime's integration in the router
// rehearsal (test/route-rehearsal.test.ts). Env: QSB_STORE, CANARY, SHARD_COUNT, SHARD_PERCENT,
// SIM_API, SIM_TOKEN. Prints one JSON line per event on stdout.
import { followPlan, RouteMember } from '@qsb/router';
import { createStore } from '@qsb/store';
import { Client, Events, GatewayIntentBits } from 'discord.js';

const env = process.env;
const deployment = env.CANARY === 'true' ? 'canary' : 'production';
const shardCount = Number(env.SHARD_COUNT);
const print = (fields: object) => process.stdout.write(`${JSON.stringify({ deployment, ...fields })}\n`);
const store = await createStore(env.QSB_STORE);
const member = new RouteMember({
  store,
  self: { deployment, dyno: 1 },
  boot: { shardCount, percent: Number(env.SHARD_PERCENT) },
  logger: {
    info: (fields, msg) => print({ ...fields, msg }),
    warn: (fields, msg) => print({ ...fields, msg, warn: true }),
  },
});

const clients = new Map<number, Client>();
const ready = new Set<number>();
// As the runtime does: an interaction delivered twice to this process (two sessions on one shard while
// one is replaced, a replay on resume) is decided once.
const seen = new Set<string>();

function connect(shard: number): void {
  const client = new Client({
    intents: [GatewayIntentBits.Guilds],
    shards: [shard],
    shardCount,
    rest: { api: env.SIM_API as string, userAgentAppendix: deployment },
  });
  client.once(Events.ShardReady, () => {
    ready.add(shard);
    print({ msg: 'shard ready', shard });
  });
  client.on(Events.InteractionCreate, (interaction) => {
    if (!interaction.isChatInputCommand() || seen.has(interaction.id)) return;
    seen.add(interaction.id);
    if (seen.size > 10_000) seen.delete(seen.values().next().value as string);
    const decision = member.decide(shard, interaction.id);
    if (!decision.answer) return;
    interaction.reply({ content: `${deployment} ${decision.reason}` }).catch((error: Error) => {
      print({ msg: 'answer failed', shard, error: error.message });
    });
  });
  clients.set(shard, client);
  client
    .login(env.SIM_TOKEN)
    .catch((error: Error) => print({ msg: 'login failed', shard, error: error.message }));
}

function close(shard: number): void {
  const client = clients.get(shard);
  clients.delete(shard);
  ready.delete(shard);
  void client?.destroy();
  print({ msg: 'shard closed', shard });
}

const following = followPlan({
  member,
  logger: {
    info: (fields, msg) => print({ ...fields, msg }),
    warn: (fields, msg) => print({ ...fields, msg, warn: true }),
  },
  shards: {
    held: () => [...clients.keys()],
    ready: () => [...ready],
    add: async (ids) => {
      for (const shard of ids) connect(shard);
    },
    remove: async (ids) => {
      for (const shard of ids) close(shard);
    },
  },
});

process.once('SIGTERM', async () => {
  await following.stop();
  await Promise.all([...clients.values()].map((client) => client.destroy()));
  await store.close();
  process.exit(0);
});
print({ msg: 'started' });
