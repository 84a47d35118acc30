import { describe, expect, it } from 'vitest';
import { CanaryError, formatScrape, parseExposition, parseRecording } from '../../src/index.ts';

describe('parseExposition', () => {
  it('reads samples, labels with escapes, special values and declared families', () => {
    const scrape = parseExposition(
      [
        '# HELP qsb_interactions_total Interactions.',
        '# TYPE qsb_interactions_total counter',
        'qsb_interactions_total{command="ping",outcome="ok"} 12',
        'qsb_interactions_total{command="say \\"hi\\"\\\\\\n",outcome="error"} 1e3',
        '# TYPE qsb_user_reports_total counter',
        'process_x Nan',
        'process_y +Inf 1700000000000',
        '',
      ].join('\n'),
      5,
    );
    expect(scrape.timeMs).toBe(5);
    expect(scrape.types.get('qsb_user_reports_total')).toBe('counter');
    expect(scrape.samples[1]).toEqual({
      name: 'qsb_interactions_total',
      labels: { command: 'say "hi"\\\n', outcome: 'error' },
      value: 1000,
    });
    expect(scrape.samples[2]?.value).toBeNaN();
    expect(scrape.samples[3]).toMatchObject({ value: Infinity, timestampMs: 1700000000000 });
  });

  it.each([
    ['qsb_x{a="1" 1', 'line 1: "," or "}" expected after label a'],
    ['qsb_x 1.2.3', 'line 1: invalid value "1.2.3"'],
    ['qsb_x', 'line 1: a space and a value expected after the series'],
    ['qsb_x 1 2 3', 'line 1: unexpected text after the value and timestamp'],
    ['qsb_x 1 soon', 'line 1: invalid timestamp "soon"'],
    ['# TYPE qsb_x countr', 'line 1: unknown metric type "countr"'],
    ['# TYPE qsb_x counter\n# TYPE qsb_x gauge', 'line 2: TYPE of qsb_x changed from counter'],
    ['9x 1', 'line 1: a metric name expected'],
  ])('refuses %j naming the line', (text, message) => {
    expect(() => parseExposition(text, 0, 'canary')).toThrow(`canary ${message}`);
    try {
      parseExposition(text, 0);
    } catch (error) {
      expect(error).toBeInstanceOf(CanaryError);
      expect((error as CanaryError).code).toBe('MalformedExposition');
      expect((error as CanaryError).name).toBe('CanaryError[MalformedExposition]');
    }
  });
});

describe('recordings', () => {
  it('round-trips scrapes through formatScrape and parseRecording', () => {
    const a = parseExposition('# TYPE qsb_a counter\nqsb_a{x="1"} 3\nqsb_b NaN\n', 1000);
    const b = parseExposition('# TYPE qsb_a counter\nqsb_a{x="1"} 5\nqsb_b 2\n', 2000);
    const back = parseRecording(formatScrape(a) + formatScrape(b), 'rec');
    expect(back.map((s) => s.timeMs)).toEqual([1000, 2000]);
    expect(back[1]?.samples.map((s) => s.value)).toEqual([5, 2]);
    expect(back[0]?.samples[1]?.value).toBeNaN();
    expect(back[0]?.types.get('qsb_a')).toBe('counter');
  });

  it.each([
    ['qsb_a 1\n', 'rec line 1: a recorded sample needs a timestamp'],
    ['qsb_a 1 2000\nqsb_a 2 1000\n', 'rec line 2: timestamp 1000 goes back in time'],
    ['# nothing\n', 'rec: the recording holds no samples'],
    ['qsb_a{ 1 1000\n', 'rec line 1: a label name expected'],
  ])('refuses %j', (text, message) => {
    expect(() => parseRecording(text, 'rec')).toThrow(message);
  });
});
