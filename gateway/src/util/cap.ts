/**
 * Caps a string that someone outside the gateway chose (an MQTT user name or client id, a topic, a payload
 * excerpt) before it is stored or logged: a 60 KB user name must cost 60 KB once, in the packet, not again in
 * every record and log line that names it. Longer strings keep their start and say how long they were. Pure.
 */
export function capText(text: string, max = 80): string {
  if (text.length <= max) return text;
  let end = max;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--; // never split a surrogate pair
  // A copy, not a slice: V8 keeps a slice of a long string as a view that holds the whole string alive.
  const head = Buffer.from(text.slice(0, end), 'utf16le').toString('utf16le');
  return `${head}…(${text.length} chars)`;
}
