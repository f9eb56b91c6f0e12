/** The value of one cookie in a Cookie header, or undefined. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const i = part.indexOf('=');
    if (i < 0) continue;
    if (part.slice(0, i).trim() === name) {
      const v = part.slice(i + 1).trim();
      try {
        return decodeURIComponent(v);
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

/** A Set-Cookie value for the session cookie: not readable by scripts, never sent by other sites. */
export function sessionCookie(name: string, value: string, o: { secure: boolean; maxAgeS?: number }): string {
  const parts = [`${name}=${encodeURIComponent(value)}`, 'Path=/', 'HttpOnly', 'SameSite=Strict'];
  if (o.secure) parts.push('Secure');
  if (o.maxAgeS !== undefined) parts.push(`Max-Age=${Math.max(0, Math.floor(o.maxAgeS))}`);
  return parts.join('; ');
}
