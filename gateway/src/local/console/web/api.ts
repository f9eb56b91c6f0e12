// The console's HTTP client: same origin, the session cookie, and the CSRF token on every change.

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: Record<string, unknown>,
  ) {
    super(typeof body.error === 'string' ? body.error : `HTTP ${status}`);
  }
}

export interface SessionState {
  enabled: boolean;
  passwordSet: boolean;
  gatewayId?: string;
  loggedIn: boolean;
  reason?: 'none' | 'expired';
  csrf?: string;
  expiresAt?: string;
}

export class Api {
  csrf?: string;
  /** Called when a request is refused for want of a login (the session expired or was never there). */
  onUnauthorized: () => void = () => {};

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (method !== 'GET' && this.csrf) headers['x-csrf-token'] = this.csrf;
    const res = await fetch(path, { method, headers, credentials: 'same-origin', ...(body !== undefined && { body: JSON.stringify(body) }) });
    const text = await res.text();
    let json: Record<string, unknown> = {};
    try {
      json = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    } catch {
      json = { error: text.slice(0, 200) };
    }
    if (res.status === 401 && path.startsWith('/api/')) this.onUnauthorized();
    if (!res.ok) throw new ApiError(res.status, json);
    return json as T;
  }

  get<T>(path: string): Promise<T> {
    return this.request<T>('GET', path);
  }

  session(): Promise<SessionState> {
    return this.get<SessionState>('/console/session');
  }

  async login(password: string): Promise<SessionState> {
    const s = await this.request<SessionState>('POST', '/console/session', { password });
    this.csrf = s.csrf;
    return s;
  }

  async logout(): Promise<void> {
    await this.request('DELETE', '/console/session').catch(() => undefined);
    this.csrf = undefined;
  }
}
