import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { routerShare } from '../../src/pipeline/share.ts';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'qsb-share-'));
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("the router's share", () => {
  it("reads the canary's share from the router's plan, and says so when no bot has made one", async () => {
    const share = routerShare(`file:${join(dir, 'store.json')}`, dir, () => {});
    try {
      expect(share.description).toContain('store.json');
      await expect(share.current()).rejects.toThrow(/no routing plan in the store: .*no bot has started/);
    } finally {
      await share.close();
    }
  });

  it('names a store it cannot use in one line', async () => {
    const share = routerShare('ftp://nowhere', dir, () => {});
    await expect(share.current()).rejects.toThrow(/QSB_STORE|ftp/);
    await share.close().catch(() => {});
  });
});
