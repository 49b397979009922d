/**
 * Running the incoming/outgoing extension chains and the ACL. Each returns
 * synchronously when every hook does, so the common case (no hooks, or
 * synchronous ones) adds no promise to the message path.
 */

import { isPromise, type MaybePromise } from '../engines/maybe-promise.js';
import { BayeuxError, type BayeuxErrorName, bayeuxError } from '../protocol/errors.js';
import type { Message } from '../protocol/message.js';
import type { Extension, MessageACL, MessageContext, OutgoingContext } from './options/types.js';

function runChain<C>(
  extensions: readonly Extension<never>[],
  hook: 'incoming' | 'outgoing',
  message: Message,
  ctx: C,
  from: number,
): MaybePromise<void> {
  for (let i = from; i < extensions.length; i++) {
    // The loop bound makes the element defined; an extension may lack this hook.
    const fn = (extensions[i] as Extension<never>)[hook] as ((m: Message, c: C) => unknown) | undefined;
    if (fn === undefined) continue;
    const result = fn(message, ctx);
    if (isPromise(result)) return result.then(() => runChain(extensions, hook, message, ctx, i + 1));
  }
}

/** Runs every `incoming` hook in order. A hook refuses a message by setting `message.error`. */
export function runIncoming<User>(extensions: readonly Extension<User>[], message: Message, ctx: MessageContext<User>): MaybePromise<void> {
  return runChain(extensions as readonly Extension<never>[], 'incoming', message, ctx, 0);
}

/** Runs every `outgoing` hook in order on a reply, broadcast or push. */
export function runOutgoing<User>(
  extensions: readonly Extension<User>[],
  message: Message,
  ctx: OutgoingContext<User>,
): MaybePromise<void> {
  return runChain(extensions as readonly Extension<never>[], 'outgoing', message, ctx, 0);
}

/**
 * The ACL's verdict as an error string, or undefined when the message may
 * proceed. `false` gets the table's error, a string becomes the error text.
 */
export function authorize<User>(
  acl: MessageACL<User> | undefined,
  message: Message,
  ctx: MessageContext<User>,
  denied: BayeuxErrorName,
  args: string,
): MaybePromise<string | undefined> {
  if (acl === undefined) return undefined;
  const verdict = acl(ctx.client, message, ctx);
  if (isPromise(verdict)) return verdict.then((v) => toError(v, denied, args));
  return toError(verdict, denied, args);
}

function toError(verdict: unknown, denied: BayeuxErrorName, args: string): string | undefined {
  if (verdict === false) return bayeuxError(denied, args);
  if (typeof verdict === 'string') {
    // A full `code:args:message` string is taken as is; plain text is the reason.
    return /^\d{3}:[^:]*:/.test(verdict) ? verdict : bayeuxError(denied, args, verdict);
  }
  return undefined;
}

/** The error string for something a hook threw: its own for a BayeuxError, `500` otherwise. */
export function errorFromThrown(err: unknown): string {
  return err instanceof BayeuxError ? err.bayeux : bayeuxError('serverError');
}
