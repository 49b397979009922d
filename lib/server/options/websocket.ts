/** The `websocket` option. */
import { isPlainObject } from '../../protocol/message.js';
import { fail, integer, optionalFunction, unknownOption } from './check.js';
import { isOriginRule } from './cors.js';
import { WEBSOCKET_DEFAULTS } from './defaults.js';
import type { ResolvedWebSocketOptions } from './resolved.js';
import type { OriginRule } from './types.js';

export function resolveWebSocket(value: unknown, maxBodySize: number): ResolvedWebSocketOptions {
  if (value === undefined) value = {};
  if (!isPlainObject(value)) fail('websocket', 'an object', value);
  const o = value;
  const known = ['path', 'maxPayload', 'pingInterval', 'maxBufferedBytes', 'origins', 'handshake', 'protocols', 'maxInvalidFrames'];
  for (const name of Object.keys(o)) {
    if (!known.includes(name)) unknownOption(name, known, 'websocket.');
  }
  const path = o.path ?? WEBSOCKET_DEFAULTS.path;
  if (typeof path !== 'string' || !path.startsWith('/')) fail('websocket.path', 'a path starting with "/"', path);
  if (o.origins !== undefined && !isOriginRule(o.origins))
    fail('websocket.origins', 'a string, RegExp, array of them, or function', o.origins);
  const protocols = o.protocols ?? WEBSOCKET_DEFAULTS.protocols;
  if (!Array.isArray(protocols) || !protocols.every((p) => typeof p === 'string' && /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(p))) {
    fail('websocket.protocols', 'an array of subprotocol tokens', protocols);
  }
  const sub = (name: string, fallback: number, min: number) => integer(o, name, fallback, min, 'websocket.');
  return {
    path: path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path,
    pathSet: o.path !== undefined,
    maxPayload: sub('maxPayload', maxBodySize, 64),
    pingInterval: sub('pingInterval', WEBSOCKET_DEFAULTS.pingInterval, 0),
    maxBufferedBytes: sub('maxBufferedBytes', WEBSOCKET_DEFAULTS.maxBufferedBytes, 1024),
    origins: o.origins as OriginRule | undefined,
    handshake: optionalFunction<ResolvedWebSocketOptions['handshake']>(o, 'handshake', 'websocket.'),
    protocols: [...(protocols as string[])],
    maxInvalidFrames: sub('maxInvalidFrames', WEBSOCKET_DEFAULTS.maxInvalidFrames, 0),
  };
}
