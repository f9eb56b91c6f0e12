import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { resolveFfmpeg } from '../southbound/cameras/ffmpeg.js';
import { loadFakes } from './dev-fakes.js';

interface VirtualCameraOptions {
  video: string;
  host: string;
  advertise?: string;
  rtspPort: string;
  onvifPort: string;
  discoveryPort: string;
  discovery: boolean;
  width: string;
  height: string;
  fps: string;
  maxSeconds: string;
  username?: string;
  passwordEnv?: string;
  auth: 'ws-security' | 'digest';
  name: string;
  model: string;
  serial: string;
}

export function registerVirtualCamera(program: Command): void {
  program
    .command('virtual-camera')
    .description('play a video file as an ONVIF camera: an RTSP stream (H.264) plus WS-Discovery and the ONVIF Device and Media services, for demos and field training')
    .requiredOption('--video <file>', 'video file to serve in a loop (e.g. test-artifacts/media/vtest.avi)')
    .option('--host <ip>', 'address to serve on (0.0.0.0: the whole LAN)', '127.0.0.1')
    .option('--advertise <host>', 'address or host name put into the ONVIF and RTSP URLs (default: --host, or 127.0.0.1 for 0.0.0.0)')
    .option('--rtsp-port <n>', 'RTSP port (0: any free port)', '8554')
    .option('--onvif-port <n>', 'HTTP port of the ONVIF services (0: any free port)', '8000')
    .option('--discovery-port <n>', 'WS-Discovery port (3702 is the standard; 0: any free port)', '3702')
    .option('--no-discovery', 'do not answer WS-Discovery probes')
    .option('--width <px>', 'stream width', '640')
    .option('--height <px>', 'stream height', '480')
    .option('--fps <n>', 'stream frame rate', '10')
    .option('--max-seconds <s>', 'loop only the first N seconds of the video (it is encoded once, in memory); 0: all', '60')
    .option('-u, --username <user>', 'require this user (RTSP digest and ONVIF)')
    .option('--password-env <VAR>', 'environment variable holding the password')
    .option('--auth <kind>', 'how the ONVIF services check credentials: ws-security or digest', 'ws-security')
    .option('--name <text>', 'camera name announced in discovery', 'GridGate Virtual Camera')
    .option('--model <text>', 'model reported by GetDeviceInformation', 'VC-1')
    .option('--serial <text>', 'serial number reported by GetDeviceInformation', 'VC0001')
    .action(async (o: VirtualCameraOptions) => {
      // The fake camera, loaded when the command runs: the gateway's help and its other commands work without it.
      const { VirtualOnvifDevice, RtspServer } = await loadFakes('virtual-camera', 'virtualCamera');
      const password = o.passwordEnv ? process.env[o.passwordEnv] : undefined;
      if (o.passwordEnv && !password) throw new Error(`environment variable ${o.passwordEnv} (--password-env) is not set`);
      if (o.username && !password) throw new Error('--username needs --password-env');
      if (o.auth !== 'ws-security' && o.auth !== 'digest') throw new Error('--auth is ws-security or digest');
      const advertise = o.advertise ?? (o.host === '0.0.0.0' ? '127.0.0.1' : o.host);
      const rtsp = new RtspServer({
        video: resolve(o.video),
        host: o.host,
        port: Number(o.rtspPort),
        width: Number(o.width),
        height: Number(o.height),
        fps: Number(o.fps),
        maxSeconds: Number(o.maxSeconds),
        ...(o.username && password && { username: o.username, password, auth: 'digest' as const }),
      });
      const info = await rtsp.start();
      const rtspUrl = `rtsp://${advertise}:${info.port}/stream`;
      const ffmpeg = await resolveFfmpeg().catch(() => undefined);
      const device = new VirtualOnvifDevice({
        host: o.host,
        port: Number(o.onvifPort),
        advertiseHost: advertise,
        rtspUrl,
        stream: { width: info.width, height: info.height, fps: info.fps },
        ...(ffmpeg && { snapshot: () => grabJpeg(ffmpeg.path, rtsp.authUrl) }),
        ...(o.username && password && { username: o.username, password }),
        auth: o.auth,
        identity: { name: o.name, model: o.model, serial: o.serial, manufacturer: 'GridGate' },
        discovery: o.discovery ? { port: Number(o.discoveryPort) } : false,
      });
      try {
        await device.start();
      } catch (e) {
        await rtsp.kill('SIGTERM');
        throw new Error(`cannot serve ONVIF on ${o.host}:${o.onvifPort} (or discovery on ${o.discoveryPort}): ${(e as Error).message}`);
      }
      const ready = { ready: true, rtsp: rtspUrl, onvif: device.xaddr, discoveryPort: device.discoveryPort ?? null, multicast: device.discoveryJoined, frames: info.frames };
      process.stdout.write(`${JSON.stringify(ready)}\n`);
      process.stderr.write(
        `virtual camera serving ${o.video}\n  RTSP:  ${rtspUrl}\n  ONVIF: ${device.xaddr}\n` +
          (device.discoveryPort ? `  WS-Discovery on UDP ${device.discoveryPort}${device.discoveryJoined ? ' (multicast group joined)' : ' (unicast only: no multicast route)'}\n` : '') +
          `Find it with: gridgate cameras discover${device.discoveryPort && device.discoveryPort !== 3702 ? ` --address ${advertise} --port ${device.discoveryPort}` : ''}${o.username ? ` --username ${o.username} --password-env ${o.passwordEnv}` : ''}\n`,
      );
      let stopping = false;
      const stop = async () => {
        if (stopping) return;
        stopping = true;
        await device.stop();
        await rtsp.kill('SIGTERM');
        process.exit(0);
      };
      process.on('SIGINT', () => void stop());
      process.on('SIGTERM', () => void stop());
      rtsp.proc?.once('close', () => {
        if (!stopping) {
          process.stderr.write('virtual camera: the RTSP server exited\n');
          void device.stop().then(() => process.exit(1));
        }
      });
    });
}

function grabJpeg(ffmpeg: string, url: string): Promise<Buffer> {
  return new Promise((res, rej) => {
    execFile(
      ffmpeg,
      ['-hide_banner', '-loglevel', 'error', '-rtsp_transport', 'tcp', '-i', url, '-frames:v', '1', '-f', 'image2', '-c:v', 'mjpeg', 'pipe:1'],
      { encoding: 'buffer', timeout: 15_000, maxBuffer: 16 << 20 },
      (err, stdout) => (err ? rej(new Error(`snapshot failed: ${err.message.split('\n')[0]}`)) : res(stdout)),
    );
  });
}
