#!/usr/bin/python3
"""RTSP server for tests, benchmarks, demos and field training (GStreamer gst-rtsp-server via python3-gi).

Encodes the first --max-seconds of a video file once to H.264 (as an IP camera would send it) and serves it in a
loop at rtsp://HOST:PORT/PATH, like a live camera: every client gets its own session fed in real time from memory,
so many clients cost little. Credentials (optional) come from the environment, never the command line:
GRIDGATE_RTSP_USER / GRIDGATE_RTSP_PASSWORD, checked with --auth basic|digest.

Faults for tests, one command per line on stdin:
  stall     stop sending frames, keep every connection open
  resume    send frames again
  corrupt   send one frame of garbage bytes (a damaged frame on the wire)

Prints one JSON line on stdout when it serves: {"ready": true, "port": ..., "url": ..., "frames": ...}.
"""
import argparse
import json
import os
import random
import sys

import gi

gi.require_version('Gst', '1.0')
gi.require_version('GstRtsp', '1.0')
gi.require_version('GstRtspServer', '1.0')
from gi.repository import GLib, Gst, GstRtsp, GstRtspServer  # noqa: E402


def log(msg):
    sys.stderr.write('rtsp-server: %s\n' % msg)
    sys.stderr.flush()


def encode(args):
    """Decodes the file and encodes it to H.264 access units in memory: [(bytes, is_keyframe)]."""
    pipeline = Gst.parse_launch(
        'filesrc name=file ! decodebin ! videoconvert ! videoscale ! videorate ! '
        'video/x-raw,format=I420,width={w},height={h},framerate={fps}/1 ! '
        'x264enc tune=zerolatency speed-preset=ultrafast threads=1 key-int-max={gop} bitrate={kbps} ! '
        'h264parse config-interval=-1 ! video/x-h264,stream-format=byte-stream,alignment=au ! '
        'appsink name=sink sync=false max-buffers=64'.format(w=args.width, h=args.height, fps=args.fps, gop=args.gop, kbps=args.kbps))
    pipeline.get_by_name('file').set_property('location', args.video)
    sink = pipeline.get_by_name('sink')
    pipeline.set_state(Gst.State.PLAYING)
    limit = args.max_seconds * args.fps if args.max_seconds > 0 else None
    frames = []
    bus = pipeline.get_bus()
    while limit is None or len(frames) < limit:
        sample = sink.emit('try-pull-sample', 5 * Gst.SECOND)
        if sample is None:
            msg = bus.pop_filtered(Gst.MessageType.ERROR)
            if msg is not None:
                err, _ = msg.parse_error()
                pipeline.set_state(Gst.State.NULL)
                raise SystemExit('rtsp-server: cannot read %s: %s' % (args.video, err.message))
            break  # end of the file
        buf = sample.get_buffer()
        ok, info = buf.map(Gst.MapFlags.READ)
        if ok:
            frames.append((bytes(info.data), not buf.has_flags(Gst.BufferFlags.DELTA_UNIT)))
            buf.unmap(info)
    pipeline.set_state(Gst.State.NULL)
    # A loop must start on a keyframe; drop a trailing partial group so the seam is clean.
    while frames and not frames[0][1]:
        frames.pop(0)
    if not frames:
        raise SystemExit('rtsp-server: no video frames in %s' % args.video)
    return frames


class Faults:
    stalled = False
    corrupt_pending = 0


class Feeder:
    """Pushes the encoded frames into one session's appsrc in real time, looping."""

    def __init__(self, appsrc, frames, fps, faults):
        self.appsrc = appsrc
        self.frames = frames
        self.fps = fps
        self.faults = faults
        self.i = 0
        self.n = 0
        self.duration = Gst.SECOND // fps
        self.timer = GLib.timeout_add(max(1, 1000 // fps), self.tick)

    def tick(self):
        if self.faults.stalled:
            return True
        data, key = self.frames[self.i]
        self.i = (self.i + 1) % len(self.frames)
        if self.faults.corrupt_pending > 0 and not key:
            # Damage the slice data of a delta frame but keep its start code and headers, as a bad link
            # would: it passes the parser and reaches the camera client's decoder.
            self.faults.corrupt_pending -= 1
            keep = min(len(data), 24)
            data = data[:keep] + bytes(random.getrandbits(8) for _ in range(len(data) - keep))
        buf = Gst.Buffer.new_wrapped(data)
        buf.pts = self.n * self.duration
        buf.duration = self.duration
        if not key:
            buf.set_flags(Gst.BufferFlags.DELTA_UNIT)
        self.n += 1
        ret = self.appsrc.emit('push-buffer', buf)
        if ret != Gst.FlowReturn.OK:
            self.timer = None
            return False  # the session ended
        return True

    def stop(self):
        if self.timer is not None:
            GLib.source_remove(self.timer)
            self.timer = None


class Factory(GstRtspServer.RTSPMediaFactory):
    def __init__(self, frames, args, faults):
        super().__init__()
        self.frames = frames
        self.args = args
        self.faults = faults
        self.set_shared(False)
        self.connect('media-configure', self.on_configure)

    def do_create_element(self, url):
        caps = 'video/x-h264,stream-format=byte-stream,alignment=au,width={w},height={h},framerate={fps}/1'.format(
            w=self.args.width, h=self.args.height, fps=self.args.fps)
        return Gst.parse_launch(
            'appsrc name=src is-live=true format=time do-timestamp=false caps="{caps}" ! '
            'h264parse ! rtph264pay name=pay0 pt=96 config-interval=-1'.format(caps=caps))

    def on_configure(self, _factory, media):
        appsrc = media.get_element().get_child_by_name('src')
        feeder = Feeder(appsrc, self.frames, self.args.fps, self.faults)
        media.connect('unprepared', lambda _m: feeder.stop())


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--video', required=True)
    p.add_argument('--host', default='127.0.0.1')
    p.add_argument('--port', type=int, default=8554, help='0: any free port (printed)')
    p.add_argument('--path', default='/stream')
    p.add_argument('--width', type=int, default=640)
    p.add_argument('--height', type=int, default=480)
    p.add_argument('--fps', type=int, default=10)
    p.add_argument('--gop', type=int, default=0, help='keyframe interval in frames (default: 2 s)')
    p.add_argument('--kbps', type=int, default=1000)
    p.add_argument('--max-seconds', type=int, default=0, help='use only the first N seconds of the file (0: all)')
    p.add_argument('--auth', choices=['basic', 'digest'], default='digest')
    args = p.parse_args()
    if args.gop <= 0:
        args.gop = 2 * args.fps
    Gst.init(None)
    frames = encode(args)
    faults = Faults()

    server = GstRtspServer.RTSPServer()
    server.set_address(args.host)
    server.set_service(str(args.port))
    factory = Factory(frames, args, faults)
    user, password = os.environ.get('GRIDGATE_RTSP_USER'), os.environ.get('GRIDGATE_RTSP_PASSWORD')
    if user and password:
        auth = GstRtspServer.RTSPAuth()
        token = GstRtspServer.RTSPToken()
        token.set_string('media.factory.role', 'viewer')
        if args.auth == 'digest':
            auth.set_supported_methods(GstRtsp.RTSPAuthMethod.DIGEST)
            auth.add_digest(user, password, token)
        else:
            auth.add_basic(GstRtspServer.RTSPAuth.make_basic(user, password), token)
        server.set_auth(auth)
        perms = GstRtspServer.RTSPPermissions()
        perms.add_permission_for_role('viewer', 'media.factory.access', True)
        perms.add_permission_for_role('viewer', 'media.factory.construct', True)
        factory.set_permissions(perms)
    server.get_mount_points().add_factory(args.path, factory)
    if server.attach(None) == 0:
        raise SystemExit('rtsp-server: cannot listen on %s:%d' % (args.host, args.port))
    port = server.get_bound_port()
    host = args.host if args.host not in ('0.0.0.0', '') else '127.0.0.1'
    print(json.dumps({'ready': True, 'port': port, 'url': 'rtsp://%s:%d%s' % (host, port, args.path), 'frames': len(frames),
                      'width': args.width, 'height': args.height, 'fps': args.fps}), flush=True)

    loop = GLib.MainLoop()

    def on_stdin(fd, _cond):
        line = sys.stdin.readline()
        if not line:
            loop.quit()  # the parent went away
            return False
        cmd = line.strip()
        if cmd == 'stall':
            faults.stalled = True
        elif cmd == 'resume':
            faults.stalled = False
        elif cmd == 'corrupt':
            faults.corrupt_pending += 1
        elif cmd:
            log('unknown command %r' % cmd)
        print(json.dumps({'ack': cmd}), flush=True)
        return True

    if not sys.stdin.isatty():
        GLib.io_add_watch(sys.stdin.fileno(), GLib.IO_IN | GLib.IO_HUP, on_stdin)
    try:
        loop.run()
    except KeyboardInterrupt:
        pass


if __name__ == '__main__':
    main()
