import { InvalidArgumentError } from 'commander';

/** A commander argument parser for an integer in `[min, max]`; the message says what is allowed. */
export function integerIn(min: number, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^-?[0-9]+$/.test(value) || n < min || n > max) {
      throw new InvalidArgumentError(`must be an integer from ${min} to ${max}.`);
    }
    return n;
  };
}

/** A duration flag: `5m`, `10s`, `500ms`, `1h`, or a number of seconds; returns seconds. */
export function durationArg(value: string): number {
  const m = /^([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)?$/.exec(value.trim());
  if (!m) throw new InvalidArgumentError('must be a duration such as 500ms, 10s, 5m or 1h.');
  const scale = { ms: 0.001, s: 1, m: 60, h: 3600 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
  return Number(m[1]) * scale;
}

/** A percent 0..100 with at most two decimals. */
export function percentArg(value: string): number {
  if (!/^(?:100(?:\.0{1,2})?|[0-9]{1,2}(?:\.[0-9]{1,2})?)$/.test(value)) {
    throw new InvalidArgumentError('must be a number from 0 to 100 with at most two decimals.');
  }
  return Number(value);
}

/** Collects a repeatable option into an array. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** Formats ascending ids as ranges: `0, 4-15`. */
export function formatIds(ids: readonly number[]): string {
  if (ids.length === 0) return '(none)';
  const parts: string[] = [];
  let start = ids[0] ?? 0;
  let prev = start;
  for (const id of [...ids.slice(1), Number.NaN]) {
    if (id === prev + 1) {
      prev = id;
      continue;
    }
    parts.push(start === prev ? `${start}` : `${start}-${prev}`);
    start = id;
    prev = id;
  }
  return parts.join(', ');
}
