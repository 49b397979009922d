/** `long-polling`: messages in a POST body, replies as a JSON array. */

import type { Framing } from './polling.js';
import { jsonArray } from './respond.js';

export const longPolling: Framing = {
  transport: 'long-polling',
  contentType: 'application/json; charset=utf-8',
  body: jsonArray,
};
