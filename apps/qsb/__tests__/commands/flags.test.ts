import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { qsb } from '../support/qsb.ts';

const GUILD = '81384788765712384';
const USER = '172002275412279296';

const dir = mkdtempSync(join(tmpdir(), 'qsb-flags-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
function file(name: string, content: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

const staff = file('staff.json', {
  version: 2,
  features: [
    { name: 'staff', enabled: true, strategies: [{ name: 'userWithId', parameters: { userIds: USER } }] },
  ],
});

describe('qsb flags eval', () => {
  it('answers for the repository flags file: quantum is on for a guild on the canary only', async () => {
    const canary = await qsb([
      'flags',
      'eval',
      'quantum',
      '--guild',
      GUILD,
      '--deployment',
      'canary',
      '--json',
    ]);
    expect(canary.code).toBe(0);
    expect(JSON.parse(canary.out)).toEqual({
      flag: 'quantum',
      enabled: true,
      guildId: GUILD,
      userId: null,
      deployment: 'canary',
      file: 'flags/features.json',
    });
    const production = await qsb(['flags', 'eval', 'quantum', '--guild', GUILD, '--json']);
    expect(JSON.parse(production.out).enabled).toBe(false);
    expect(JSON.parse(production.out).deployment).toBe('production');
  });

  it('takes the deployment from CANARY when --deployment is absent', async () => {
    const { out } = await qsb(['flags', 'eval', 'quantum', '--guild', GUILD], { CANARY: 'true' });
    expect(out).toBe(`quantum: on for guild ${GUILD} on canary`);
    // A DM: no guild, the user stands in for it (as the runtime's flag() does).
    const dm = await qsb(['flags', 'eval', 'quantum', '--user', USER], { CANARY: 'true' });
    expect(dm.out).toBe(`quantum: on for user ${USER} in a DM on canary`);
    const dmJson = await qsb(['flags', 'eval', 'quantum', '--user', USER, '--json']);
    expect(JSON.parse(dmJson.out)).toMatchObject({ enabled: false, guildId: null, userId: USER });
  });

  it('evaluates per user with --user and --file', async () => {
    const on = await qsb(['flags', 'eval', 'staff', '--guild', GUILD, '--user', USER, '--file', staff]);
    expect(on.out).toBe(`staff: on for guild ${GUILD}, user ${USER} on production`);
    const off = await qsb([
      'flags',
      'eval',
      'staff',
      '--guild',
      GUILD,
      '--user',
      '1',
      '--file',
      staff,
      '--json',
    ]);
    expect(JSON.parse(off.out).enabled).toBe(false);
  });

  it.each([
    [
      ['flags', 'eval', 'quantom', '--guild', GUILD],
      'qsb: unknown flag "quantom": flags/features.json defines quantum',
    ],
    [['flags', 'eval', 'quantum', '--guild', 'abc'], 'qsb: guild id "abc" is not a snowflake'],
    [['flags', 'eval', 'quantum', '--guild', GUILD, '--user', '-1'], 'qsb: user id "-1" is not a snowflake'],
    [
      ['flags', 'eval', 'quantum', '--guild', GUILD, '--deployment', 'staging'],
      'must be canary or production',
    ],
    [['flags', 'eval', 'quantum'], 'qsb: flags eval needs --guild <id>, --user <id> (a DM), or both'],
    [
      ['flags', 'eval', 'quantum', '--guild', GUILD, '--file', join(dir, 'missing.json')],
      `qsb: invalid flags file: ${join(dir, 'missing.json')}: cannot be read (no such file)`,
    ],
    [
      [
        'flags',
        'eval',
        'quantum',
        '--guild',
        GUILD,
        '--file',
        file('bad.json', '{"version": 2, "features": ['),
      ],
      'not valid JSON',
    ],
    [
      [
        'flags',
        'list',
        '--file',
        file('wrong.json', { version: 2, features: [{ name: 'x', enabled: 1, strategies: [] }] }),
      ],
      'features[0].enabled: Invalid input: expected boolean, received number',
    ],
  ])('refuses %j with one line and exit code 3', async (argv, message) => {
    const { code, out, err } = await qsb(argv, {});
    expect(code).toBe(3);
    expect(out).toBe('');
    expect(err.split('\n')[0]).toContain(message);
  });

  it('refuses a malformed CANARY, naming the variable', async () => {
    const { code, err } = await qsb(['flags', 'eval', 'quantum', '--guild', GUILD], { CANARY: 'maybe' });
    expect(code).toBe(3);
    expect(err).toBe('qsb: invalid environment: CANARY="maybe": must be true, false, 1 or 0');
  });
});

describe('qsb flags list', () => {
  it('lists the flags and their strategies', async () => {
    const { code, out } = await qsb(['flags', 'list']);
    expect(code).toBe(0);
    expect(out).toContain('quantum  enabled');
    expect(out).toContain(
      'flexibleRollout(rollout=100, stickiness=guildId, groupId=quantum) where deployment IN [canary]',
    );
  });

  it('prints one JSON object with --json', async () => {
    const { out } = await qsb(['flags', 'list', '--file', staff, '--json']);
    const listed = JSON.parse(out);
    expect(listed.file).toBe(staff);
    expect(listed.flags).toEqual([
      {
        name: 'staff',
        enabled: true,
        description: null,
        strategies: [{ name: 'userWithId', parameters: { userIds: USER } }],
      },
    ]);
  });

  it('warns about what Unleash would never turn on', async () => {
    const typo = file('typo.json', {
      version: 2,
      features: [{ name: 't', enabled: true, strategies: [{ name: 'flexibleRolout', parameters: {} }] }],
    });
    const { code, err } = await qsb(['flags', 'list', '--file', typo]);
    expect(code).toBe(0);
    expect(err).toContain(
      'qsb: warning: features[0] (t).strategies[0]: strategy "flexibleRolout" is unknown',
    );
  });
});
