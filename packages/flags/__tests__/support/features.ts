/** A flag on for `percent`% of guilds (sticky on guildId), only where the deployment is in `deployments`. */
export function guildRollout(name: string, percent: number, deployments: readonly string[] = ['canary']) {
  return {
    name,
    enabled: true,
    strategies: [
      {
        name: 'flexibleRollout',
        parameters: { rollout: String(percent), stickiness: 'guildId', groupId: name },
        constraints: [
          { contextName: 'deployment', operator: 'IN', values: [...deployments], inverted: false },
        ],
      },
    ],
  };
}

/** A flag on for the listed users only. */
export function usersFlag(name: string, userIds: readonly string[]) {
  return {
    name,
    enabled: true,
    strategies: [{ name: 'userWithId', parameters: { userIds: userIds.join(',') } }],
  };
}

/** A flag on for the listed guilds only (an IN constraint on guildId). */
export function guildsFlag(name: string, guildIds: readonly string[], enabled = true) {
  return {
    name,
    enabled,
    strategies: [
      {
        name: 'default',
        constraints: [{ contextName: 'guildId', operator: 'IN', values: [...guildIds], inverted: false }],
      },
    ],
  };
}

/** A flags file's content. */
export function featureFile(...features: readonly object[]) {
  return { version: 2, features, segments: [] };
}
