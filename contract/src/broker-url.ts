/**
 * A broker URL without its password, for logs and status answers. Both ends of the contract (the gateway's
 * uplink and network-server connections, the cloud bridge) log the broker URLs they use.
 */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable url)';
  }
}
