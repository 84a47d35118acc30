#!/usr/bin/env -S node --import tsx
import { type Command, runBot } from '@qsb/runtime';

/** The smallest bot on the runtime: one command. */
export const hello: Command = {
  name: 'hello',
  definition: { name: 'hello', description: 'Say hello' },
  async execute(interaction) {
    await interaction.reply(`Hello, ${interaction.user.username}!`);
  },
};

await runBot({ name: 'example-bot', commands: [hello] });
