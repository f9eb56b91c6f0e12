import onvif, { type Cam as CamT } from 'onvif';
import { SourceProblem } from '../capture.js';
import { short } from '../capture-problems.js';

const { Cam } = onvif;

export interface OnvifCredentials {
  username?: string | undefined;
  password?: string | undefined;
}

export interface OnvifProfile {
  token: string;
  name?: string;
  encoding?: string;
  width?: number;
  height?: number;
  fps?: number;
  streamUri?: string;
  snapshotUri?: string;
}

export interface OnvifDevice {
  xaddr: string;
  manufacturer?: string;
  model?: string;
  firmware?: string;
  serial?: string;
  hardwareId?: string;
  profiles: OnvifProfile[];
}

/** Maps an ONVIF client error to the capture's problem kinds. */
export function onvifProblem(err: Error & { code?: string }, xaddr: string): SourceProblem {
  const text = `${err.code ?? ''} ${err.message}`;
  const host = safeHost(xaddr);
  if (/ECONNREFUSED|EHOSTUNREACH|ENETUNREACH|ETIMEDOUT|ECONNRESET|ENOTFOUND|EAI_AGAIN|Network timeout|socket hang up/i.test(text)) {
    return new SourceProblem('unreachable', `nothing answers at ${host} (ONVIF): check the camera's power, cable and address`, short(text));
  }
  if (/NotAuthori[sz]ed|not authori[sz]ed|Digest authentication failed|\b401\b|Unauthori[sz]ed|Sender not Authorized/i.test(text)) {
    return new SourceProblem('auth-failed', `${host} refused the user name or password (ONVIF): check source.username and source.password`, short(text));
  }
  return new SourceProblem('onvif-failed', `the ONVIF service at ${host} failed: ${short(err.message)}`, short(text));
}

function safeHost(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

function camFor(xaddr: string, creds: OnvifCredentials, timeoutMs: number): CamT {
  const u = new URL(xaddr);
  return new Cam({
    hostname: u.hostname,
    port: Number(u.port) || (u.protocol === 'https:' ? 443 : 80),
    path: u.pathname || '/onvif/device_service',
    useSecure: u.protocol === 'https:',
    timeout: timeoutMs,
    autoconnect: false,
    // Cameras behind NAT or with a stale DHCP address announce service addresses we cannot reach: use ours.
    preserveAddress: true,
    ...(creds.username && { username: creds.username }),
    ...(creds.password && { password: creds.password }),
  });
}

/** Calls a callback-style Cam method once; a second callback (the library may call twice on parse errors) is ignored. */
function call<T>(fn: (cb: (err: Error | null, data?: T) => void) => void): Promise<T> {
  return new Promise((res, rej) => {
    let done = false;
    try {
      fn((err, data) => {
        if (done) return;
        done = true;
        if (err) rej(err);
        else res(data as T);
      });
    } catch (e) {
      if (!done) {
        done = true;
        rej(e as Error);
      }
    }
  });
}

/** Clock offset and service addresses: GetSystemDateAndTime, then GetCapabilities (Profile S), else GetServices. */
async function open(xaddr: string, creds: OnvifCredentials, timeoutMs: number): Promise<CamT> {
  const cam = camFor(xaddr, creds, timeoutMs);
  await call((cb) => cam.getSystemDateAndTime(cb));
  try {
    await call((cb) => cam.getCapabilities(cb));
  } catch (e) {
    if (/NotAuthori[sz]ed|not authori[sz]ed|authentication failed/i.test((e as Error).message)) throw e;
    await call((cb) => cam.getServices(true, cb));
  }
  if (!cam.uri?.media) throw new Error('the device has no Media service (not an ONVIF Profile S camera)');
  return cam;
}

interface RawProfile {
  $?: { token?: string };
  name?: string;
  videoEncoderConfiguration?: { encoding?: string; resolution?: { width?: number; height?: number }; rateControl?: { frameRateLimit?: number } };
}

function profileOf(p: RawProfile): OnvifProfile | undefined {
  const token = p.$?.token;
  if (!token) return undefined;
  const enc = p.videoEncoderConfiguration;
  const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
  const width = num(enc?.resolution?.width);
  const height = num(enc?.resolution?.height);
  const fps = num(enc?.rateControl?.frameRateLimit);
  return {
    token,
    ...(p.name !== undefined && { name: String(p.name) }),
    ...(enc?.encoding !== undefined && { encoding: String(enc.encoding) }),
    ...(width !== undefined && { width }),
    ...(height !== undefined && { height }),
    ...(fps !== undefined && { fps }),
  };
}

async function profilesOf(cam: CamT): Promise<OnvifProfile[]> {
  const raw = await call<RawProfile[] | RawProfile>((cb) => cam.getProfiles(cb));
  return (Array.isArray(raw) ? raw : [raw]).map(profileOf).filter((p): p is OnvifProfile => !!p);
}

async function streamUriOf(cam: CamT, token: string): Promise<string> {
  const r = await call<{ uri?: string }>((cb) => cam.getStreamUri({ protocol: 'RTSP', stream: 'RTP-Unicast', profileToken: token }, cb));
  if (!r?.uri || typeof r.uri !== 'string') throw new Error(`GetStreamUri gave no address for profile ${token}`);
  return r.uri;
}

/**
 * What a field engineer needs to configure a camera: GetDeviceInformation (make, model, serial), GetProfiles
 * (resolutions) and, per profile, GetStreamUri (RTSP over TCP) and GetSnapshotUri.
 */
export async function describeDevice(xaddr: string, creds: OnvifCredentials, timeoutMs = 5000): Promise<OnvifDevice> {
  const cam = await open(xaddr, creds, timeoutMs);
  const info = await call<{ manufacturer?: unknown; model?: unknown; firmwareVersion?: unknown; serialNumber?: unknown; hardwareId?: unknown }>((cb) => cam.getDeviceInformation(cb));
  const str = (v: unknown) => (v === undefined || v === null || v === '' ? undefined : String(v));
  const profiles = await profilesOf(cam);
  for (const p of profiles) {
    try {
      p.streamUri = await streamUriOf(cam, p.token);
    } catch {
      /* a profile without a stream (e.g. metadata only) */
    }
    try {
      const s = await call<{ uri?: string }>((cb) => cam.getSnapshotUri({ profileToken: p.token }, cb));
      if (s?.uri) p.snapshotUri = String(s.uri);
    } catch {
      /* snapshots are optional in Profile S */
    }
  }
  const o = {
    manufacturer: str(info?.manufacturer),
    model: str(info?.model),
    firmware: str(info?.firmwareVersion),
    serial: str(info?.serialNumber),
    hardwareId: str(info?.hardwareId),
  };
  return { xaddr, ...(Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<typeof o>), profiles };
}

/** The RTSP address of a profile (the first when none is named), asked at every connect: it may change. */
export async function resolveStreamUri(xaddr: string, creds: OnvifCredentials, profileToken: string | undefined, timeoutMs = 5000): Promise<{ uri: string; profile: OnvifProfile }> {
  try {
    const cam = await open(xaddr, creds, timeoutMs);
    const profiles = await profilesOf(cam);
    const profile = profileToken ? profiles.find((p) => p.token === profileToken) : profiles[0];
    if (!profile) {
      throw new SourceProblem(
        'onvif-failed',
        profileToken ? `the camera has no media profile "${profileToken}" (it has: ${profiles.map((p) => p.token).join(', ') || 'none'})` : 'the camera has no media profile',
      );
    }
    return { uri: await streamUriOf(cam, profile.token), profile };
  } catch (e) {
    if (e instanceof SourceProblem) throw e;
    throw onvifProblem(e as Error, xaddr);
  }
}
