import { describe, expect, it } from 'vitest';
import { FlagsError, parseFeatureFile, parseFeatureText } from '../../src/index.ts';
import { featureFile, guildRollout } from '../support/features.ts';

describe('parseFeatureFile', () => {
  it("accepts Unleash's full client format and keeps fields a client ignores", () => {
    const file = parseFeatureFile({
      ...featureFile(guildRollout('quantum', 20)),
      query: { inlineSegmentConstraints: true },
    });
    expect(file.features.map((f) => f.name)).toEqual(['quantum']);
    expect(file.segments).toEqual([]);
    expect(file.warnings).toEqual([]);
  });

  it('reduces the delta format to the state it describes', () => {
    const file = parseFeatureFile({
      events: [
        {
          eventId: 1,
          type: 'hydration',
          features: [guildRollout('a', 1), guildRollout('b', 1)],
          segments: [],
        },
        { eventId: 2, type: 'feature-removed', featureName: 'a', project: 'default' },
        { eventId: 3, type: 'segment-updated', segment: { id: 7, constraints: [] } },
        { eventId: 4, type: 'feature-updated', feature: guildRollout('c', 1) },
        { eventId: 5, type: 'segment-removed', segmentId: 7 },
      ],
    });
    expect(file.features.map((f) => f.name)).toEqual(['b', 'c']);
    expect(file.segments).toEqual([]);
  });

  it.each([
    [[], '(top level): Invalid input: expected object, received array'],
    [{ features: [] }, 'version: Invalid input: expected number, received undefined'],
    [{ version: 2, features: [{ enabled: true, strategies: [] }] }, 'features[0].name: Invalid input'],
    [
      {
        version: 2,
        features: [{ name: 'x', enabled: true, strategies: [{ name: 'default', constraints: [{}] }] }],
      },
      'features[0].strategies[0].constraints[0].contextName',
    ],
    [{ events: [{ type: 'feature-exploded' }] }, 'events[0].type'],
  ])('refuses %j, naming where', (json, message) => {
    expect(() => parseFeatureFile(json, 'flags.json')).toThrow(FlagsError);
    expect(() => parseFeatureFile(json, 'flags.json')).toThrow(`invalid flags file: flags.json: ${message}`);
  });

  it('counts the other problems', () => {
    expect(() => parseFeatureFile({ version: 'two', features: 'none' })).toThrow('(and 1 more problems)');
  });

  it('warns about what Unleash would evaluate as off', () => {
    const file = parseFeatureFile({
      version: 2,
      features: [
        {
          name: 'x',
          enabled: true,
          strategies: [
            { name: 'gradual', parameters: {} },
            {
              name: 'default',
              constraints: [{ contextName: 'guildId', operator: 'IS', values: ['1'] }],
              segments: [3],
            },
          ],
          dependencies: [{ feature: 'parent' }],
        },
        { name: 'x', enabled: false, strategies: [] },
      ],
    });
    expect(file.warnings).toEqual([
      'features[1]: flag "x" is defined twice; the last wins',
      expect.stringContaining(
        'features[0] (x).strategies[0]: strategy "gradual" is unknown (allowed: default,',
      ),
      expect.stringContaining(
        'features[0] (x).strategies[1].constraints[0].operator "IS" is unknown (allowed: IN,',
      ),
      'features[0] (x).strategies[1]: segment 3 is not defined; the strategy is never on',
      'features[0] (x): parent flag "parent" is not defined; the flag is off',
    ]);
  });

  it('names a file that is not JSON', () => {
    expect(() => parseFeatureText('{"version": 2,', 'flags/features.json')).toThrow(
      /^invalid flags file: flags\/features.json: not valid JSON \(/,
    );
  });
});
