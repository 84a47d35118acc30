import type { MetricReason, Verdict } from './evaluate.ts';

const num = (x: number | null | undefined): string => {
  if (x === null || x === undefined || !Number.isFinite(x))
    return x === undefined || x === null ? '-' : String(x);
  if (x === 0) return '0';
  const a = Math.abs(x);
  if (a >= 1e6 || a < 1e-3) return x.toExponential(2);
  return x.toPrecision(3);
};

function effect(reason: MetricReason): string {
  const r = reason.ratio;
  const d = reason.difference;
  if (r) return `${num(r.estimate)}x [${num(r.lower)}, ${num(r.upper)}] tol ${num(r.tolerance)}x`;
  if (d) return `${num(d.estimate)} [${num(d.lower)}, ${num(d.upper)}] tol ${num(d.tolerance)}`;
  return '-';
}

function pad(cells: readonly string[], widths: readonly number[]): string {
  return cells
    .map((c, i) => c.padEnd(widths[i] ?? 0))
    .join('  ')
    .trimEnd();
}

/** The verdict as a table for people: one row per metric, then the verdict and its reason. */
export function formatVerdict(verdict: Verdict): string[] {
  const header = ['metric', 'decision', 'production', 'canary', 'canary/production [interval]', 'needs'];
  const rows = verdict.reasons.map((r) => [
    `${r.metric}${r.critical ? '' : ' (info)'}`,
    r.decision,
    num(r.production),
    num(r.canary),
    effect(r),
    r.needed
      ? r.needed.moreSeconds === null
        ? 'undecidable soon'
        : `~${Math.ceil(r.needed.moreSeconds)} s`
      : '',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  const lines = [pad(header, widths), ...rows.map((row) => pad(row, widths))];
  lines.push(`verdict: ${verdict.verdict.toUpperCase()} after ${Math.round(verdict.elapsedSeconds)} s`);
  lines.push(verdict.summary);
  for (const r of verdict.reasons) for (const note of r.notes) lines.push(`note: ${r.metric}: ${note}`);
  return lines;
}
