import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApplicationCommandType } from 'discord-api-types/v10';
import { type ActiveSimFault, parseSimFaultRequest, type SimFaultRequest } from '../faults/faultRequest.ts';
import type { IdentifyLimiter } from '../gateway/IdentifyLimiter.ts';
import { channelPayload, messagePayload, userPayload } from '../gateway/payloads.ts';
import type { Interactions } from '../interactions/Interactions.ts';
import type { DiscordSimOptionalOptions } from '../options.ts';
import type { SimStats } from '../stats.ts';
import type { SnowflakeFactory } from '../world/snowflake.ts';
import type { SimWorld } from '../world/world.ts';
import { RestErrors, type RestResult } from './errors.ts';

/** A REST fault to serve instead of the real answer. */
export interface RestFault {
  /** 429 (rate limited, with `retry_after` and the X-RateLimit headers) or a 5xx status. */
  readonly status: number;
  /** How many requests get it; default 1. */
  readonly count?: number;
  /** Only requests whose path (after `/api/v10`) contains this string; default every request. */
  readonly path?: string;
  /** For 429: seconds in `retry_after` and `Retry-After`; default 0.1. */
  readonly retryAfter?: number;
  /** For 429: a global rate limit (`X-RateLimit-Global`). */
  readonly global?: boolean;
}

/** A command as registered by bulk overwrite. */
export interface RegisteredCommand {
  readonly id: string;
  readonly name: string;
  readonly type: number;
  readonly guild_id?: string;
  readonly [key: string]: unknown;
}

export interface RestContext {
  readonly options: DiscordSimOptionalOptions;
  readonly world: SimWorld;
  readonly limiter: IdentifyLimiter;
  readonly interactions: Interactions;
  readonly ids: SnowflakeFactory;
  readonly gatewayUrl: () => string;
  readonly stats: (options: { interactionList: boolean }) => SimStats;
  /** The faults behind `/__sim/faults`. */
  readonly faults: SimFaultControl;
}

/** What `/__sim/faults` drives: apply one fault, list those in force, clear them all. */
export interface SimFaultControl {
  /** Applies a checked fault; returns how many connections it reached, where that applies. */
  apply(fault: SimFaultRequest): { readonly connections?: number };
  active(): ActiveSimFault[];
  /** Ends every lasting fault; returns how many there were. */
  clear(): number;
}

interface Request {
  readonly method: string;
  readonly params: readonly string[];
  readonly body: unknown;
  readonly query: URLSearchParams;
  readonly userAgent: string | null;
}

interface Route {
  readonly method: string;
  readonly pattern: RegExp;
  readonly auth: boolean;
  readonly handle: (req: Request) => RestResult;
}

const MAX_BODY = 8 * 1024 * 1024;
const COMMAND_NAME = /^[-_'\p{L}\p{N}\p{sc=Deva}\p{sc=Thai}]{1,32}$/u;

/**
 * The REST API under `/api/v10`, answering as Discord does, including its refusals. Node's http is
 * enough for a dozen routes: a table of patterns keeps every route and its auth rule on one line.
 */
export class RestServer {
  readonly #ctx: RestContext;
  readonly #routes: Route[];
  readonly #faults: { fault: RestFault; left: number }[] = [];
  readonly #globalCommands = new Map<string, RegisteredCommand>();
  readonly #guildCommands = new Map<string, Map<string, RegisteredCommand>>();
  /** DM channels opened through `POST /users/@me/channels`, by recipient id. */
  readonly #dms = new Map<string, { id: string; recipientId: string }>();
  public requests = 0;
  public messagesCreated = 0;
  public readonly byStatus: Record<string, number> = {};

  public constructor(ctx: RestContext) {
    this.#ctx = ctx;
    const app = '([0-9]{1,20})';
    const id = '([0-9]{1,20})';
    const token = '([^/]{1,512})';
    this.#routes = [
      {
        method: 'GET',
        pattern: /^\/gateway$/,
        auth: false,
        handle: () => this.#ok({ url: ctx.gatewayUrl() }),
      },
      { method: 'GET', pattern: /^\/gateway\/bot$/, auth: true, handle: () => this.#gatewayBot() },
      { method: 'GET', pattern: /^\/users\/@me$/, auth: true, handle: () => this.#ok(this.#me()) },
      {
        method: 'GET',
        pattern: /^\/applications\/@me$/,
        auth: true,
        handle: () => this.#ok(this.#application()),
      },
      {
        method: 'GET',
        pattern: new RegExp(`^/applications/${app}/commands$`),
        auth: true,
        handle: (r) => this.#listCommands(r.params[0] ?? '', null),
      },
      {
        method: 'PUT',
        pattern: new RegExp(`^/applications/${app}/commands$`),
        auth: true,
        handle: (r) => this.#overwriteCommands(r.params[0] ?? '', null, r.body),
      },
      {
        method: 'GET',
        pattern: new RegExp(`^/applications/${app}/guilds/${id}/commands$`),
        auth: true,
        handle: (r) => this.#listCommands(r.params[0] ?? '', r.params[1] ?? ''),
      },
      {
        method: 'PUT',
        pattern: new RegExp(`^/applications/${app}/guilds/${id}/commands$`),
        auth: true,
        handle: (r) => this.#overwriteCommands(r.params[0] ?? '', r.params[1] ?? '', r.body),
      },
      {
        method: 'POST',
        pattern: /^\/users\/@me\/channels$/,
        auth: true,
        handle: (r) => this.#openDm(r.body),
      },
      {
        method: 'GET',
        pattern: new RegExp(`^/channels/${id}$`),
        auth: true,
        handle: (r) => this.#channel(r.params[0] ?? ''),
      },
      {
        method: 'POST',
        pattern: new RegExp(`^/channels/${id}/messages$`),
        auth: true,
        handle: (r) => this.#createMessage(r.params[0] ?? '', r.body),
      },
      {
        method: 'POST',
        pattern: new RegExp(`^/interactions/${id}/${token}/callback$`),
        auth: false,
        handle: (r) =>
          ctx.interactions.callback(
            r.params[0] ?? '',
            decodeURIComponent(r.params[1] ?? ''),
            r.body,
            r.userAgent,
            r.query.get('with_response') === 'true',
          ),
      },
      {
        method: 'POST',
        pattern: new RegExp(`^/webhooks/${app}/${token}$`),
        auth: false,
        handle: (r) =>
          ctx.interactions.followUp(r.params[0] ?? '', decodeURIComponent(r.params[1] ?? ''), r.body),
      },
      ...(['GET', 'PATCH', 'DELETE'] as const).map((method) => ({
        method,
        pattern: new RegExp(`^/webhooks/${app}/${token}/messages/@original$`),
        auth: false,
        handle: (r: Request) =>
          ctx.interactions.original(r.params[0] ?? '', decodeURIComponent(r.params[1] ?? ''), method, r.body),
      })),
    ];
  }

  /** Serves the next `count` matching requests with a fault. */
  public addFault(fault: RestFault): void {
    this.#faults.push({ fault, left: fault.count ?? 1 });
  }

  /** The REST faults still pending, each with how many requests it will still answer. */
  public pendingFaults(): { readonly fault: RestFault; readonly left: number }[] {
    return this.#faults.map((f) => ({ fault: f.fault, left: f.left }));
  }

  /** Removes every pending REST fault. */
  public clearFaults(): void {
    this.#faults.length = 0;
  }

  /** The id of a registered command, guild commands first. */
  public commandId(name: string, guildId: string | null): string | undefined {
    const fromGuild = guildId === null ? undefined : this.#guildCommands.get(guildId)?.get(name)?.id;
    return fromGuild ?? this.#globalCommands.get(name)?.id;
  }

  #ok(body: unknown): RestResult {
    return { status: 200, body };
  }

  #gatewayBot(): RestResult {
    return this.#ok({
      url: this.#ctx.gatewayUrl(),
      shards: this.#ctx.options.shards,
      session_start_limit: this.#ctx.limiter.sessionStartLimit(),
    });
  }

  #me() {
    return { ...userPayload(this.#ctx.world.bot), verified: true, mfa_enabled: false, flags: 0, email: null };
  }

  #application() {
    const w = this.#ctx.world;
    return {
      id: w.applicationId,
      name: w.bot.username,
      icon: null,
      description: '',
      bot_public: false,
      bot_require_code_grant: false,
      bot: userPayload(w.bot),
      owner: userPayload(w.dm.user),
      verify_key: '0'.repeat(64),
      team: null,
      flags: 0,
      approximate_guild_count: w.guilds.length,
      tags: [],
    };
  }

  #commandsOf(guildId: string | null): Map<string, RegisteredCommand> {
    if (guildId === null) return this.#globalCommands;
    let m = this.#guildCommands.get(guildId);
    if (!m) {
      m = new Map();
      this.#guildCommands.set(guildId, m);
    }
    return m;
  }

  #listCommands(appId: string, guildId: string | null): RestResult {
    if (appId !== this.#ctx.world.applicationId) return RestErrors.unknownApplication();
    if (guildId !== null && !this.#ctx.world.guildById.has(guildId)) return RestErrors.unknownGuild();
    return this.#ok([...this.#commandsOf(guildId).values()]);
  }

  #overwriteCommands(appId: string, guildId: string | null, body: unknown): RestResult {
    if (appId !== this.#ctx.world.applicationId) return RestErrors.unknownApplication();
    if (guildId !== null && !this.#ctx.world.guildById.has(guildId)) return RestErrors.unknownGuild();
    if (!Array.isArray(body)) return RestErrors.invalidForm('_root', 'BASE_TYPE_ARRAY', 'Must be an array.');
    if (body.length > 100)
      return RestErrors.invalidForm('_root', 'BASE_TYPE_MAX_LENGTH', 'Must be 100 or fewer in length.');
    const previous = this.#commandsOf(guildId);
    const next = new Map<string, RegisteredCommand>();
    for (const [i, raw] of body.entries()) {
      const c = (raw && typeof raw === 'object' ? raw : {}) as Record<string, unknown>;
      const type = c.type ?? ApplicationCommandType.ChatInput;
      if (typeof type !== 'number' || ![1, 2, 3, 4].includes(type)) {
        return RestErrors.invalidForm(`${i}.type`, 'BASE_TYPE_CHOICES', 'Value must be one of {1, 2, 3, 4}.');
      }
      const name = c.name;
      if (
        typeof name !== 'string' ||
        !COMMAND_NAME.test(name) ||
        (type === ApplicationCommandType.ChatInput && name !== name.toLowerCase())
      ) {
        return RestErrors.invalidForm(
          `${i}.name`,
          'APPLICATION_COMMAND_INVALID_NAME',
          'Command name is invalid',
        );
      }
      const description = c.description ?? '';
      if (
        typeof description !== 'string' ||
        (type === ApplicationCommandType.ChatInput && (description.length < 1 || description.length > 100))
      ) {
        return RestErrors.invalidForm(
          `${i}.description`,
          'BASE_TYPE_BAD_LENGTH',
          'Must be between 1 and 100 in length.',
        );
      }
      if (next.has(name)) {
        return RestErrors.invalidForm(
          `${i}.name`,
          'APPLICATION_COMMANDS_DUPLICATE_NAME',
          `Application command names must be unique`,
        );
      }
      next.set(name, {
        id: previous.get(name)?.id ?? this.#ctx.ids.next(),
        application_id: appId,
        version: this.#ctx.ids.next(),
        default_member_permissions: null,
        type,
        nsfw: false,
        name,
        description,
        ...(guildId === null ? { integration_types: [0], contexts: null } : { guild_id: guildId }),
        options: Array.isArray(c.options) ? c.options : [],
      });
    }
    previous.clear();
    for (const [k, v] of next) previous.set(k, v);
    return this.#ok([...next.values()]);
  }

  #dmPayload(id: string, recipientId: string) {
    const w = this.#ctx.world;
    const user =
      recipientId === w.dm.user.id
        ? w.dm.user
        : { id: recipientId, username: `user-${recipientId.slice(-4)}`, bot: false };
    return { id, type: 1, last_message_id: null, flags: 0, recipients: [userPayload(user)] };
  }

  #openDm(body: unknown): RestResult {
    const b = (body && typeof body === 'object' ? body : {}) as Record<string, unknown>;
    const recipient = b.recipient_id;
    if (typeof recipient !== 'string' || !/^[0-9]{1,20}$/.test(recipient)) {
      return RestErrors.invalidForm(
        'recipient_id',
        'NUMBER_TYPE_COERCE',
        `Value "${String(recipient)}" is not snowflake.`,
      );
    }
    const w = this.#ctx.world;
    if (recipient === w.dm.user.id) return this.#ok(this.#dmPayload(w.dm.id, recipient));
    let dm = this.#dms.get(recipient);
    if (!dm) {
      dm = { id: this.#ctx.ids.next(), recipientId: recipient };
      this.#dms.set(recipient, dm);
    }
    return this.#ok(this.#dmPayload(dm.id, recipient));
  }

  #findDm(channelId: string) {
    for (const dm of this.#dms.values()) if (dm.id === channelId) return dm;
    return undefined;
  }

  #channel(channelId: string): RestResult {
    const w = this.#ctx.world;
    const channel = w.channelById.get(channelId);
    if (channel && 'guildId' in channel) {
      return this.#ok(
        channelPayload(channel, w.guildById.get(channel.guildId)?.channels.indexOf(channel) ?? 0),
      );
    }
    if (channel) return this.#ok(this.#dmPayload(channel.id, channel.user.id));
    const dm = this.#findDm(channelId);
    return dm ? this.#ok(this.#dmPayload(dm.id, dm.recipientId)) : RestErrors.unknownChannel();
  }

  #createMessage(channelId: string, body: unknown): RestResult {
    const channel = this.#ctx.world.channelById.get(channelId) ?? this.#findDm(channelId);
    if (!channel) return RestErrors.unknownChannel();
    const b = (body && typeof body === 'object' ? body : {}) as Record<string, unknown>;
    const content = b.content;
    const hasContent = typeof content === 'string' && content.length > 0;
    const hasOther = ['embeds', 'components', 'sticker_ids', 'poll'].some((k) =>
      Array.isArray(b[k]) ? (b[k] as unknown[]).length > 0 : b[k] !== undefined && b[k] !== null,
    );
    if (!hasContent && !hasOther) return RestErrors.emptyMessage();
    if (typeof content === 'string' && content.length > 2000) {
      return RestErrors.invalidForm('content', 'BASE_TYPE_MAX_LENGTH', 'Must be 2000 or fewer in length.');
    }
    this.messagesCreated++;
    return this.#ok(
      messagePayload({
        id: this.#ctx.ids.next(),
        channelId,
        guildId: 'guildId' in channel ? channel.guildId : null,
        author: this.#ctx.world.bot,
        content: typeof content === 'string' ? content : '',
        at: this.#ctx.options.now(),
        body: b,
      }),
    );
  }

  #takeFault(path: string): RestFault | null {
    const i = this.#faults.findIndex((f) => f.fault.path === undefined || path.includes(f.fault.path));
    const entry = this.#faults[i];
    if (!entry) return null;
    if (--entry.left <= 0) this.#faults.splice(i, 1);
    return entry.fault;
  }

  #faultResult(fault: RestFault): RestResult {
    if (fault.status !== 429) {
      return { status: fault.status, body: { message: `${fault.status}: Internal Server Error`, code: 0 } };
    }
    const retryAfter = fault.retryAfter ?? 0.1;
    const resetAt = this.#ctx.options.now() / 1000 + retryAfter;
    return {
      status: 429,
      body: {
        message: 'You are being rate limited.',
        retry_after: retryAfter,
        global: fault.global === true,
      },
      headers: {
        'retry-after': String(Math.ceil(retryAfter)),
        'x-ratelimit-limit': '5',
        'x-ratelimit-remaining': '0',
        'x-ratelimit-reset': resetAt.toFixed(3),
        'x-ratelimit-reset-after': retryAfter.toFixed(3),
        'x-ratelimit-bucket': 'qsb-sim-fault',
        'x-ratelimit-scope': fault.global ? 'global' : 'user',
        ...(fault.global ? { 'x-ratelimit-global': 'true' } : {}),
      },
    };
  }

  /** `/__sim/faults`: POST applies one fault (JSON), GET lists those in force, DELETE clears them. */
  #faultsEndpoint(method: string, raw: Buffer): RestResult {
    const faults = this.#ctx.faults;
    if (method === 'GET') return this.#ok({ faults: faults.active() });
    if (method === 'DELETE') return this.#ok({ cleared: faults.clear(), faults: faults.active() });
    if (method !== 'POST') {
      return {
        status: 405,
        headers: { allow: 'GET, POST, DELETE' },
        body: { message: `${method} /__sim/faults: allowed methods are GET, POST and DELETE` },
      };
    }
    let body: unknown;
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch {
      return {
        status: 400,
        body: {
          message: 'body: must be one JSON object with a "type" (the body is not valid JSON)',
          field: 'body',
        },
      };
    }
    const parsed = parseSimFaultRequest(body, this.#ctx.options.shards);
    if (!parsed.ok) return { status: 400, body: { message: parsed.message, field: parsed.field } };
    const result = faults.apply(parsed.fault);
    return this.#ok({ applied: parsed.fault, ...result, faults: faults.active() });
  }

  /** Node http handler for every non-upgrade request. */
  public handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) tooLarge = true;
      else chunks.push(chunk);
    });
    req.on('end', () => {
      let result: RestResult;
      try {
        result = tooLarge
          ? { status: 413, body: { message: 'Request entity too large', code: 40005 } }
          : this.#route(req, Buffer.concat(chunks));
      } catch (error) {
        result = { status: 500, body: { message: `500: ${(error as Error).message}`, code: 0 } };
      }
      this.requests++;
      this.byStatus[result.status] = (this.byStatus[result.status] ?? 0) + 1;
      const headers: Record<string, string> = { ...result.headers };
      if (result.body !== undefined) headers['content-type'] = 'application/json';
      res.writeHead(result.status, headers);
      res.end(result.body === undefined ? undefined : JSON.stringify(result.body));
    });
  }

  #route(req: IncomingMessage, raw: Buffer): RestResult {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const method = req.method ?? 'GET';
    if (url.pathname === '/__sim/stats' && method === 'GET') {
      const summary = url.searchParams.get('interactions') === 'summary';
      return this.#ok(this.#ctx.stats({ interactionList: !summary }));
    }
    if (url.pathname === '/__sim/faults') return this.#faultsEndpoint(method, raw);
    const m = /^\/api\/v10(\/.*)$/.exec(url.pathname);
    if (!m) return RestErrors.notFound();
    const path = m[1] ?? '/';
    const candidates = this.#routes.filter((r) => r.pattern.test(path));
    if (candidates.length === 0) return RestErrors.notFound();
    const route = candidates.find((r) => r.method === method);
    if (!route) return RestErrors.methodNotAllowed();
    if (route.auth && req.headers.authorization !== `Bot ${this.#ctx.options.token}`)
      return RestErrors.unauthorized();
    const fault = this.#takeFault(path);
    if (fault) return this.#faultResult(fault);
    let body: unknown;
    if (raw.length > 0) {
      const type = req.headers['content-type'] ?? '';
      if (!type.startsWith('application/json')) {
        return RestErrors.invalidForm(
          '_root',
          'CONTENT_TYPE_INVALID',
          `Expected "Content-Type" header to be one of {'application/json'}.`,
        );
      }
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch {
        return RestErrors.invalidJson();
      }
    }
    const params = route.pattern.exec(path)?.slice(1) ?? [];
    return route.handle({
      method,
      params,
      body,
      query: url.searchParams,
      userAgent: req.headers['user-agent'] ?? null,
    });
  }
}
