/** int32 arrays as base64 of their little-endian bytes: compact in JSON and the same on every host. */
export function encodeInt32(values: Int32Array): string {
  const bytes = Buffer.alloc(values.length * 4);
  for (let i = 0; i < values.length; i++) bytes.writeInt32LE(values[i] as number, i * 4);
  return bytes.toString('base64');
}

export function decodeInt32(text: unknown, what: string): Int32Array {
  if (typeof text !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) {
    throw new TypeError(
      `${what} must be a base64 string, got ${typeof text === 'string' ? `"${text.slice(0, 20)}..."` : typeof text}`,
    );
  }
  const bytes = Buffer.from(text, 'base64');
  if (bytes.byteLength % 4 !== 0)
    throw new TypeError(`${what} holds ${bytes.byteLength} bytes, not a whole number of int32 values`);
  const out = new Int32Array(bytes.byteLength / 4);
  for (let i = 0; i < out.length; i++) out[i] = bytes.readInt32LE(i * 4);
  return out;
}
