// Runs unleash-server (installed by scripts/test-servers.sh) as its own process for test/unleash.test.ts.
// Configuration comes from the environment the test sets: QSB_UNLEASH_DIR, QSB_UNLEASH_PORT, QSB_PG_PORT,
// and Unleash's own INIT_ADMIN_API_TOKENS / INIT_BACKEND_API_TOKENS.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const dir = process.env.QSB_UNLEASH_DIR;
const { start } = await import(pathToFileURL(join(dir, 'dist/lib/server-impl.js')).href);
const unleash = await start({
  db: {
    host: '127.0.0.1',
    port: Number(process.env.QSB_PG_PORT),
    user: 'postgres',
    password: '',
    database: 'postgres',
    ssl: false,
  },
  server: { host: '127.0.0.1', port: Number(process.env.QSB_UNLEASH_PORT), enableRequestLogger: false },
  versionCheck: { enable: false },
  telemetry: false,
  logLevel: 'warn',
});
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.once(signal, async () => {
    await unleash.stop();
    process.exit(0);
  });
}
