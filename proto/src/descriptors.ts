// The compiled .proto descriptors (generated), one serialized FileDescriptorProto per file:
// what server reflection hands to buf curl and grpcurl, with fully qualified type names.
import { FILE_DESCRIPTOR_SET_BASE64 } from './gen/descriptors';

function readVarint(buf: Buffer, at: number): [value: number, next: number] {
  let value = 0;
  let shift = 0;
  for (let i = at; i < buf.length; i++) {
    const byte = buf[i] as number;
    value += (byte & 0x7f) * 2 ** shift;
    if ((byte & 0x80) === 0) return [value, i + 1];
    shift += 7;
  }
  throw new Error('descriptor set: truncated varint');
}

/** Each `file` (field 1, length-delimited) of the FileDescriptorSet, as its own bytes. */
export function fileDescriptorProtos(): Buffer[] {
  const set = Buffer.from(FILE_DESCRIPTOR_SET_BASE64, 'base64');
  const files: Buffer[] = [];
  let at = 0;
  while (at < set.length) {
    const [tag, afterTag] = readVarint(set, at);
    if (tag !== 0x0a) throw new Error(`descriptor set: unexpected tag ${tag} at ${at}`);
    const [length, start] = readVarint(set, afterTag);
    files.push(set.subarray(start, start + length));
    at = start + length;
  }
  return files;
}
