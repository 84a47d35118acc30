import type { SimStats } from '@qsb/discord-sim';
import type { Transition } from '../rollout/rollout.ts';
import type { DeploymentState } from './state.ts';

/** What one screen shows. */
export interface Snapshot {
  readonly elapsedSeconds: number;
  readonly scenario: string;
  readonly phase: Transition | undefined;
  readonly phaseSeconds: number;
  readonly discord: Pick<SimStats, 'interactions'> & {
    readonly shards: number;
    readonly guilds: number;
    readonly rate: number;
  };
  readonly production: DeploymentState;
  readonly canary: DeploymentState;
  readonly monitorLine: string | undefined;
}

const n = (x: number) => x.toLocaleString('en-US');
const pct = (part: number, whole: number) =>
  whole === 0 ? '   -  ' : `${((100 * part) / whole).toFixed(1).padStart(5)}%`;
const mb = (bytes: number | undefined) =>
  bytes === undefined ? '   -  ' : `${Math.round(bytes / 2 ** 20)} MiB`.padStart(8);

function deploymentLine(label: string, d: DeploymentState): string {
  if (!d.running)
    return `  ${label.padEnd(11)} ${(d.release ?? '-').padEnd(4)} not running${d.restarts > 0 ? `  (restarted ${d.restarts}x)` : ''}`;
  const total = d.interactions.ok + d.interactions.error + d.interactions.timeout;
  return [
    `  ${label.padEnd(11)} ${(d.version ?? '?').padEnd(4)}`,
    `${String(d.shardsOwned).padStart(2)} shards`,
    `${n(total).padStart(7)} answered`,
    `errors ${pct(d.interactions.error + d.interactions.timeout, total)}`,
    `mean ${d.meanLatencyMs === undefined ? '   -  ' : `${d.meanLatencyMs.toFixed(1).padStart(6)} ms`}`,
    `rss ${mb(d.residentMemoryBytes)}`,
    ...(d.restarts > 0 ? [`restarts ${d.restarts}`] : []),
  ].join('  ');
}

/** The screen as lines: the phase, the local Discord's traffic, each deployment, the judge's last word. */
export function renderSnapshot(s: Snapshot): string[] {
  const mmss = `${String(Math.floor(s.elapsedSeconds / 60)).padStart(2, '0')}:${String(Math.floor(s.elapsedSeconds % 60)).padStart(2, '0')}`;
  const a = s.discord.interactions.answered;
  const phase = s.phase
    ? `${s.phase.phase} (canary at ${s.phase.percent}%, ${Math.floor(s.phaseSeconds)} s): ${s.phase.reason}`
    : 'starting';
  return [
    `qsb demo  ${mmss}  scenario ${s.scenario}`,
    `  phase       ${phase}`,
    `  discord     ${s.discord.shards} shards, ${n(s.discord.guilds)} guilds, ${s.discord.rate}/s: ${n(s.discord.interactions.dispatched)} sent, ${n(a.one)} answered once, ${n(a.zero)} unanswered, ${n(a.expired)} too late, ${n(a.twoOrMore)} twice`,
    deploymentLine('production', s.production),
    deploymentLine('canary', s.canary),
    `  judge       ${s.monitorLine ?? '-'}`,
  ];
}

/** Draws snapshots: in a terminal, one screen redrawn in place; elsewhere, one line per phase change and every `everySeconds`. */
export class ProgressDisplay {
  readonly #write: (text: string) => void;
  readonly #tty: boolean;
  #drawn = 0;
  #lastPlain = -Infinity;

  public constructor(write: (text: string) => void, tty: boolean) {
    this.#write = write;
    this.#tty = tty;
  }

  /** Prints a line above the live screen (a transition, an event). */
  public log(line: string): void {
    this.#clear();
    this.#write(`${line}\n`);
  }

  public draw(s: Snapshot, everySeconds = 10): void {
    const lines = renderSnapshot(s);
    if (this.#tty) {
      this.#clear();
      this.#write(`${lines.join('\n')}\n`);
      this.#drawn = lines.length;
      return;
    }
    if (s.elapsedSeconds - this.#lastPlain < everySeconds) return;
    this.#lastPlain = s.elapsedSeconds;
    this.#write(`${lines.slice(2).join('\n')}\n`);
  }

  /** Leaves the last screen on the terminal. */
  public finish(): void {
    this.#drawn = 0;
  }

  #clear(): void {
    if (!this.#tty || this.#drawn === 0) return;
    this.#write(`\x1b[${this.#drawn}A\x1b[0J`);
    this.#drawn = 0;
  }
}
