#!/usr/bin/env -S node --import tsx
import { runBot } from '@qsb/runtime';
import { commands } from './commands/commands.ts';
import { FlagNames } from './commands/flags.ts';

// Quantum-Superbot is its commands; the runtime does the rest (environment, shards, sessions, flags,
// metrics, HTTP, logs, shutdown).
await runBot({ name: 'quantum-superbot', commands, flags: FlagNames });
