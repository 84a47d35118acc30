// A bot process that follows the routing plan: one discord.js client per shard it wants, answering an
// interaction only when its RouteMember says so. It stands for the runtime's integration in the router
// rehearsal (test/route-rehearsal.test.ts). Env: QSB_STORE, CANARY, SHARD_COUNT, SHARD_PERCENT,
// SIM_API, SIM_TOKEN. Prints one JSON line per event on stdout.
import { RouteMember } from '@qsb/router';
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
  logger: { info: (_, msg) => print({ msg }), warn: (_, msg) => print({ msg, warn: true }) },
});

const clients = new Map<number, Client>();
const ready = new Set<number>();

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
    if (!interaction.isChatInputCommand()) return;
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

let stopping = false;
async function loop(): Promise<void> {
  while (!stopping) {
    try {
      await member.refresh();
      const wanted = new Set(member.wantedShards());
      for (const shard of wanted) if (!clients.has(shard)) connect(shard);
      for (const shard of [...clients.keys()]) if (!wanted.has(shard)) close(shard);
      member.setReady(ready);
    } catch (error) {
      print({ msg: 'refresh failed', error: (error as Error).message });
    }
    await new Promise((resolve) => setTimeout(resolve, member.refreshIntervalMs));
  }
}

process.once('SIGTERM', async () => {
  stopping = true;
  await member.leave();
  await Promise.all([...clients.values()].map((client) => client.destroy()));
  await store.close();
  process.exit(0);
});
print({ msg: 'started' });
await loop();
