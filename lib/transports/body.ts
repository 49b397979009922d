/**
 * Turns a POST body into decoded JSON: `application/json` (or `text/plain`)
 * holding one message or an array, or a form whose `message` field(s) hold
 * them. Works whether or not the host app already parsed the body.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import bodyParser from 'body-parser';
import createError from 'http-errors';

type Parser = (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void;

const JSON_TYPES = ['application/json', 'application/*+json', 'text/plain'];
const FORM_TYPE = 'application/x-www-form-urlencoded';

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw createError(400, `${what} is not valid JSON`, { type: 'entity.parse.failed' });
  }
}

/** Decodes the `message` field(s) of a form body into one flat list. */
function fromForm(field: unknown): unknown {
  const values = Array.isArray(field) ? field : [field];
  if (values.length === 0 || !values.every((v) => typeof v === 'string')) {
    throw createError(400, 'the form has no "message" field holding JSON', { type: 'bayeux.messages.missing' });
  }
  if (values.length === 1) return parseJson(values[0] as string, 'the "message" field');
  return values.flatMap((v) => parseJson(v as string, 'a "message" field'));
}

function isForm(req: IncomingMessage): boolean {
  return (req.headers['content-type'] ?? '').toLowerCase().startsWith(FORM_TYPE);
}

/** Decodes what a parser (ours or the host app's) left in `req.body`. */
function fromParsed(req: IncomingMessage, body: unknown): unknown {
  if (typeof body === 'string') return parseJson(body, 'the body');
  if (Buffer.isBuffer(body)) return parseJson(body.toString('utf8'), 'the body');
  if (isForm(req) && typeof body === 'object' && body !== null && !Array.isArray(body)) {
    return fromForm((body as Record<string, unknown>).message);
  }
  return body;
}

export class BodyReader {
  private readonly json: Parser;
  private readonly form: Parser;

  constructor(limit: number) {
    this.json = bodyParser.json({ limit, strict: true, type: JSON_TYPES }) as Parser;
    this.form = bodyParser.urlencoded({ limit, extended: false, parameterLimit: 1000 }) as Parser;
  }

  /** The decoded JSON of the body; rejects with an http-errors error (400, 413, 415). */
  read(req: IncomingMessage, res: ServerResponse): Promise<unknown> {
    const carrier = req as IncomingMessage & { body?: unknown; _body?: boolean };
    if (carrier._body === true || (carrier.body !== undefined && req.complete)) {
      return Promise.resolve().then(() => fromParsed(req, carrier.body));
    }
    const type = req.headers['content-type'];
    if (type === undefined) {
      return Promise.reject(createError(415, 'a Bayeux POST needs a Content-Type: application/json', { type: 'bayeux.content.type' }));
    }
    const parser = isForm(req) ? this.form : this.json;
    return new Promise((resolve, reject) => {
      parser(req, res, (err?: unknown) => {
        if (err !== undefined) return reject(err);
        if (carrier.body === undefined) {
          const known = isForm(req) || JSON_TYPES.some((t) => type.toLowerCase().startsWith(t.replace('*+', '')));
          return reject(
            known
              ? createError(400, 'the request has no body', { type: 'bayeux.messages.missing' })
              : createError(415, `unsupported Content-Type ${JSON.stringify(type)}; send application/json`, {
                  type: 'bayeux.content.type',
                }),
          );
        }
        try {
          resolve(fromParsed(req, carrier.body));
        } catch (parseError) {
          reject(parseError);
        }
      });
    });
  }
}
