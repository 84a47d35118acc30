import type { EffectReport, MetricReason, Verdict } from './evaluate.ts';

const num = (x: number | null | undefined): string => {
  if (x === null || x === undefined || !Number.isFinite(x))
    return x === undefined || x === null ? '-' : String(x);
  if (x === 0) return '0';
  const a = Math.abs(x);
  if (a >= 1e6 || a < 1e-3) return x.toExponential(2);
  return x.toPrecision(3);
};

/** A value with its unit: bytes in MB, seconds in ms below one second. */
function withUnit(x: number | null | undefined, unit: string): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return num(x);
  if (unit === 'bytes') return `${num(x / 1e6)} MB`;
  if (unit === 'bytes/h') return `${num(x / 1e6)} MB/h`;
  if (unit === 's' && Math.abs(x) < 1) return `${num(x * 1000)} ms`;
  return unit ? `${num(x)} ${unit}` : num(x);
}

/** A ratio's bound: an upper bound with no data above it (Infinity, or null once read from JSON) is unbounded. */
const ratioBound = (x: number | null | undefined, upper: boolean): string =>
  x !== null && x !== undefined && Number.isFinite(x) ? `${num(x)}x` : upper ? 'unbounded' : '-';

function ratioText(r: EffectReport): string {
  return `${num(r.estimate)}x (${ratioBound(r.lower, false)} to ${ratioBound(r.upper, true)}), tolerated ${num(r.tolerance)}x`;
}

function differenceText(d: EffectReport, unit: string): string {
  const sign = (x: number) => (x >= 0 ? '+' : '');
  return `${sign(d.estimate)}${withUnit(d.estimate, unit)} (${withUnit(d.lower, unit)} to ${withUnit(d.upper, unit)}), tolerated ${sign(d.tolerance)}${withUnit(d.tolerance, unit)}`;
}

/** A metric's effect in one phrase: the ratio where it has one, else the difference with its unit. */
export function formatEffect(reason: MetricReason): string {
  if (reason.ratio) return ratioText(reason.ratio);
  if (reason.difference) return differenceText(reason.difference, reason.unit);
  const prefix = `${reason.metric}: `;
  return reason.message.startsWith(prefix) ? reason.message.slice(prefix.length) : reason.message;
}

function clock(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const m = Math.floor(s / 60);
  if (m === 0) return `${s}s`;
  return s % 60 === 0 ? `${m}m` : `${m}m${String(s % 60).padStart(2, '0')}s`;
}

/**
 * One progress line: the time against the window, where the verdict leans and the metric it leans
 * on, with its effect and tolerance.
 *
 * @example
 * formatProgress(verdict, 300); // "[2m10s/5m] leaning rollback on errors: 2.40x (1.30x to 4.10x), tolerated 1.50x"
 */
export function formatProgress(verdict: Verdict, durationSeconds: number): string {
  const at = `[${clock(verdict.elapsedSeconds)}/${clock(durationSeconds)}]`;
  const on = verdict.reasons.find((r) => r.metric === verdict.leaningOn);
  const failed =
    verdict.health.failedInARow > 0
      ? `, canary scrapes failing (${verdict.health.failedInARow} in a row)`
      : verdict.health.failed > 0
        ? `, ${verdict.health.failed} canary scrapes failed`
        : '';
  const what = verdict.verdict === 'continue' ? `leaning ${verdict.leaning}` : verdict.verdict;
  return `${at} ${what}${on ? ` on ${on.metric}: ${formatEffect(on)}` : ''}${failed}`;
}

function detectableText(r: MetricReason): string {
  const d = r.detectable;
  if (!d) return '';
  // Infinity is null once read from JSON: no regression would have been caught yet.
  if (r.ratio && d.ratio !== undefined)
    return d.ratio !== null && Number.isFinite(d.ratio) ? `${num(d.ratio)}x` : '-';
  if (!Number.isFinite(d.difference ?? Infinity)) return '-';
  if (d.difference !== undefined) return withUnit(d.difference, r.unit);
  return '';
}

function pad(cells: readonly string[], widths: readonly number[]): string {
  return cells
    .map((c, i) => c.padEnd(widths[i] ?? 0))
    .join('  ')
    .trimEnd();
}

/**
 * The verdict as a table for people: one row per metric with both sides' values in their unit, the
 * canary's ratio (or difference) with its interval and tolerance, the smallest regression the data
 * would catch 80% of the time, and what more it needs; then the verdict and its reason.
 */
export function formatVerdict(verdict: Verdict): string[] {
  const header = [
    'metric',
    'decision',
    'production',
    'canary',
    'canary vs production',
    'detectable',
    'needs',
  ];
  const rows = verdict.reasons.map((r) => [
    `${r.metric}${r.critical ? '' : ' (info)'}`,
    r.decision,
    withUnit(r.production, r.unit),
    withUnit(r.canary, r.unit),
    r.ratio || r.difference ? formatEffect(r) : '-',
    detectableText(r),
    r.needed
      ? r.needed.moreSeconds === null
        ? 'undecidable soon'
        : `~${Math.ceil(r.needed.moreSeconds)} s`
      : '',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  const lines = [pad(header, widths), ...rows.map((row) => pad(row, widths))];
  const window = verdict.durationSeconds === null ? 'open-ended' : `window ${verdict.durationSeconds} s`;
  lines.push(
    `verdict: ${verdict.verdict.toUpperCase()} after ${Math.round(verdict.elapsedSeconds)} s (${window})`,
  );
  lines.push(verdict.summary);
  for (const r of verdict.reasons) for (const note of r.notes) lines.push(`note: ${r.metric}: ${note}`);
  return lines;
}
