import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  convertWorkflowTemplate,
  isBasicExpression,
  isBoolean,
  isMapping,
  isNumber,
  isSequence,
  isString,
  NoOperationTraceWriter,
  parseWorkflow,
} from '@actions/workflow-parser';
import type { TemplateToken } from '@actions/workflow-parser/templates/tokens/template-token';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../apps/qsb/src/main.ts';

// The workflows as GitHub reads them: GitHub's own parser, then checks of what they call.
const dir = '.github/workflows';
const SECRET = `\${{ secrets.HEROKU_API_KEY }}`;
const files = readdirSync(dir).filter((f) => f.endsWith('.yml'));

type Plain = string | number | boolean | null | Plain[] | { [key: string]: Plain };

/** A parsed token as plain data; an expression becomes `${{ expr }}`. */
function plain(token: TemplateToken): Plain {
  if (isString(token)) return token.value;
  if (isNumber(token) || isBoolean(token)) return token.value;
  if (isBasicExpression(token)) return token.source ?? `\${{ ${token.expression} }}`;
  if (isSequence(token)) return Array.from({ length: token.count }, (_, i) => plain(token.get(i)));
  if (isMapping(token)) {
    const out: Record<string, Plain> = {};
    for (let i = 0; i < token.count; i++) {
      const { key, value } = token.get(i);
      out[String(plain(key))] = plain(value);
    }
    return out;
  }
  return null;
}

interface Job {
  'runs-on'?: string;
  uses?: string;
  environment?: string;
  concurrency?: { group: string; 'cancel-in-progress': boolean };
  env?: Record<string, string>;
  steps?: {
    name?: string;
    run?: string;
    uses?: string;
    with?: Record<string, Plain>;
    env?: Record<string, string>;
  }[];
  with?: Record<string, string>;
  secrets?: Record<string, string> | string;
}

interface Workflow {
  on: Record<
    string,
    { inputs?: Record<string, { type: string; options?: string[] }>; branches?: string[] } | null
  >;
  jobs: Record<string, Job>;
}

async function parse(name: string, content: string) {
  const result = parseWorkflow({ name, content }, new NoOperationTraceWriter());
  const errors = result.context.errors.getErrors().map((e) => e.message);
  if (result.value === undefined) return { errors, workflow: undefined };
  const template = await convertWorkflowTemplate(
    result.context,
    result.value,
    { getFileContent: async (ref) => ({ name: ref.path, content: readFileSync(ref.path, 'utf8') }) },
    { fetchReusableWorkflowDepth: 1 },
  );
  return {
    errors: [...errors, ...(template.errors ?? []).map((e) => e.Message)],
    workflow: plain(result.value) as unknown as Workflow,
  };
}

const parsed = new Map<string, Workflow>();
for (const file of files) {
  const { errors, workflow } = await parse(join(dir, file), readFileSync(join(dir, file), 'utf8'));
  if (errors.length > 0 || workflow === undefined) throw new Error(`${file}: ${errors.join('; ')}`);
  parsed.set(file, workflow);
}
const wf = (file: string): Workflow => {
  const w = parsed.get(file);
  if (!w) throw new Error(`${file} is missing`);
  return w;
};
const allJobs = [...parsed.entries()].flatMap(([file, w]) =>
  Object.entries(w.jobs).map(([id, job]) => ({ file, id, job })),
);

/** Every `qsb <command> <args>` in a run script, its arguments cut at the end of the shell command. */
function qsbCalls(script: string): string[][] {
  const calls: string[][] = [];
  for (const m of script.matchAll(/(?:^|[\s$(;&|])qsb\s+([^\n;|&)]*)/g)) {
    const words = (m[1] ?? '').replace(/>>.*$/, '').trim().split(/\s+/);
    calls.push(words);
  }
  return calls;
}

describe('the workflows', () => {
  it('are the four the pipeline needs, each valid for GitHub', () => {
    expect(files.sort()).toEqual([
      'ci.yml',
      'heroku-deploy.yml',
      'production-deploy.yml',
      'staging-deploy.yml',
    ]);
  });

  it("GitHub's parser refuses what GitHub refuses (a choice input on workflow_call)", async () => {
    const bad = readFileSync(join(dir, 'heroku-deploy.yml'), 'utf8').replace(
      'description: "staging, canary or production"\n        type: string',
      'description: "staging, canary or production"\n        type: choice',
    );
    expect((await parse('bad.yml', bad)).errors.join('\n')).toMatch(/choice/);
  });

  it('call only qsb commands and flags that exist, with their mandatory options', () => {
    const program = buildProgram({
      env: {},
      out: () => {},
      err: () => {},
      isTTY: false,
      signal: new AbortController().signal,
    });
    const seen = new Set<string>();
    for (const { file, id, job } of allJobs) {
      for (const step of job.steps ?? []) {
        for (const [name, ...args] of qsbCalls(step.run ?? '')) {
          const command = program.commands.find((c) => c.name() === name);
          expect(command, `${file} ${id}: qsb ${name}`).toBeDefined();
          if (!command) continue;
          seen.add(name ?? '');
          const flags = args.filter((a) => a.startsWith('--')).map((a) => a.split('=')[0]);
          const known = command.options.map((o) => o.long);
          for (const flag of flags) expect(known, `${file} ${id}: qsb ${name} ${flag}`).toContain(flag);
          for (const o of command.options.filter((o) => o.mandatory)) {
            expect(flags, `${file} ${id}: qsb ${name} needs ${o.long}`).toContain(o.long);
          }
        }
      }
    }
    expect([...seen].sort()).toEqual(['deploy', 'monitor', 'promote', 'rollback', 'route', 'verify']);
  });

  it('use HEROKU_API_KEY only as the secret, and every deploying job has its app concurrency group', () => {
    for (const file of files) {
      const text = readFileSync(join(dir, file), 'utf8');
      for (const line of text.split('\n').filter((l) => l.includes('HEROKU_API_KEY'))) {
        expect(line.trim(), file).toMatch(/^HEROKU_API_KEY:( \$\{\{ secrets\.HEROKU_API_KEY \}\})?$/);
      }
      expect(text).not.toContain('heroku-22');
    }
    for (const { file, id, job } of allJobs) {
      const runs = (job.steps ?? []).map((s) => s.run ?? '').join('\n');
      if (!/qsb (deploy|promote|rollback|route)/.test(runs)) continue;
      expect(job.concurrency?.group, `${file} ${id}`).toMatch(
        /^heroku-(\$\{\{ inputs\.app \}\}|canary|production|staging)$/,
      );
      expect(job.concurrency?.['cancel-in-progress'], `${file} ${id}`).toBe(false);
      if (job.env?.HEROKU_API_KEY !== undefined) expect(job.env.HEROKU_API_KEY).toBe(SECRET);
    }
  });

  it('check out the whole history where qsb builds or reads refs', () => {
    for (const { file, id, job } of allJobs) {
      if (file === 'ci.yml') continue;
      for (const step of job.steps ?? []) {
        if (step.uses?.startsWith('actions/checkout@'))
          expect(String(step.with?.['fetch-depth']), `${file} ${id}`).toBe('0');
      }
    }
  });

  it('take the inputs of the issue: deploy_type a choice, deploy_percentage a number, rollback a boolean', () => {
    expect(wf('staging-deploy.yml').on.push?.branches).toEqual(['build-pipelines']);
    expect(wf('staging-deploy.yml').on.workflow_dispatch?.inputs?.deploy_type).toMatchObject({
      type: 'choice',
      options: ['staging', 'canary'],
    });
    expect(wf('production-deploy.yml').on.push?.branches).toEqual(['heroku-deployment']);
    expect(wf('production-deploy.yml').on.workflow_dispatch?.inputs).toMatchObject({
      deploy_percentage: { type: 'number' },
      rollback: { type: 'boolean' },
    });
    expect(wf('heroku-deploy.yml').on.workflow_call?.inputs).toMatchObject({
      app: { type: 'string' },
      ref: { type: 'string' },
    });
    for (const { file, id, job } of allJobs) {
      if ((job.steps ?? []).some((s) => s.run?.startsWith('qsb promote')))
        expect(job.environment, `${file} ${id}`).toBe('production');
    }
    for (const job of Object.values(wf('staging-deploy.yml').jobs).filter((j) => j.uses !== undefined)) {
      expect(job.uses).toBe('./.github/workflows/heroku-deploy.yml');
      expect(job.secrets).toEqual({ HEROKU_API_KEY: SECRET, QSB_STORE: `\${{ secrets.QSB_STORE }}` });
    }
  });

  it('validate deploy_percentage as an integer 0..100 before any change', () => {
    const steps = wf('production-deploy.yml').jobs.route?.steps ?? [];
    const validate = steps.find((s) => s.name === 'Validate deploy_percentage');
    expect(steps.indexOf(validate as never)).toBe(0);
    const run = (percent: string) => {
      try {
        execFileSync('bash', ['-c', validate?.run ?? 'exit 9'], { env: { PERCENT: percent }, stdio: 'pipe' });
        return 0;
      } catch (error) {
        return (error as { status: number }).status;
      }
    };
    for (const ok of ['0', '20', '50', '100', '007']) expect(run(ok), ok).toBe(0);
    for (const bad of ['150', '101', '-1', '20.5', 'abc', '', '1e2', '20; rm -rf /'])
      expect(run(bad), bad).toBe(1);
  });

  it("ci.yml runs the README's test command", () => {
    const readme = readFileSync('README.md', 'utf8');
    const command = /<!-- ci:test -->\s*```sh\n(.+)\n```/.exec(readme)?.[1];
    expect(command).toBeDefined();
    const runs = (wf('ci.yml').jobs.test?.steps ?? []).map((s) => s.run);
    expect(runs).toContain(command);
    expect(wf('ci.yml').on).toHaveProperty('push');
    expect(wf('ci.yml').on).toHaveProperty('pull_request');
  });
});
