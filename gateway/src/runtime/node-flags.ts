/**
 * Node/V8 flags `gridgate run` is started with where we ship the start command (the systemd unit, the image's
 * entrypoint) and where bench:ingest starts it "as shipped". They must be on node's command line: V8 does not
 * take them from NODE_OPTIONS, and switching GC threading with v8.setFlagsFromString in a running process
 * aborts it at the next full collection.
 *
 * --single-threaded-gc: V8 collects on the main thread only, with no helper threads. On a 2-core machine that
 * also runs mosquitto and the devices' traffic, a collection that waits for helper threads the other processes
 * keep off the CPU stalls the event loop far longer than the work itself (bench:ingest at 2,000 msg/s, 0 %
 * steal: p99 12–17 ms against 24–34 ms with V8's parallel and concurrent collectors).
 */
export const GATEWAY_NODE_FLAGS: readonly string[] = ['--single-threaded-gc'];
