/** Default identity of a user object: its `id`, `_id`, `username` or `email`. */
export function defaultIdentify(user: unknown): string | undefined {
  if (user === undefined || user === null || user === false) return undefined;
  if (typeof user !== 'object') return String(user);
  const record = user as Record<string, unknown>;
  for (const key of ['id', '_id', 'username', 'email']) {
    const value = record[key];
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'bigint') return `${key}:${value}`;
    if (value !== null && typeof value === 'object' && typeof value.toString === 'function') {
      const text = value.toString();
      if (text !== '[object Object]') return `${key}:${text}`;
    }
  }
  return `json:${JSON.stringify(user)}`;
}
