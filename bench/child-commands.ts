/**
 * The line protocol of the benchmarks' child processes: one JSON command a
 * line on stdin, one JSON answer a line on stdout (`{ ok: true }` when the
 * handler returns nothing); `{"op":"close"}` runs `close`, answers and exits.
 */
import { createInterface } from 'node:readline';

export async function answerCommands<Command extends { op: string }>(
  handle: (command: Command) => unknown,
  close: () => Promise<void>,
): Promise<never> {
  for await (const line of createInterface({ input: process.stdin })) {
    const command = JSON.parse(line) as Command;
    if (command.op === 'close') {
      await close();
      process.stdout.write(`${JSON.stringify({ ok: true })}\n`);
      break;
    }
    const answer = (await handle(command)) ?? { ok: true };
    process.stdout.write(`${JSON.stringify(answer)}\n`);
  }
  process.exit(0);
}
