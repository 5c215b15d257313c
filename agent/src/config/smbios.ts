// SMBIOS OEM strings (structure type 11), the channel QEMU fills with
// `-smbios type=11,value=guestbench.collector=HOST:PORT` and libvirt with <oemStrings>.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** SMBIOS structure type of "OEM Strings". */
export const SMBIOS_OEM_STRINGS = 11;

/**
 * The strings of one SMBIOS structure in the kernel's raw layout
 * (`/sys/firmware/dmi/entries/T-N/raw`): header {type u8, length u8, handle u16}, the rest of
 * the formatted area up to `length`, then NUL-terminated strings ending with an empty one.
 * For type 11 the byte at offset 4 is the string count; the strings are the OEM strings.
 */
export function parseStructureStrings(raw: Uint8Array): { type: number; strings: string[]; end: number } {
  if (raw.length < 4) throw new RangeError(`SMBIOS structure of ${raw.length} bytes is shorter than its header`);
  const type = raw[0] ?? 0;
  const length = raw[1] ?? 0;
  if (length < 4 || length > raw.length) throw new RangeError(`SMBIOS structure length ${length} does not fit ${raw.length} bytes`);
  const strings: string[] = [];
  let offset = length;
  // A structure with no strings ends with two NULs right after the formatted area.
  if (raw[offset] === 0 && raw[offset + 1] === 0) return { type, strings, end: offset + 2 };
  while (offset < raw.length) {
    const nul = raw.indexOf(0, offset);
    if (nul < 0) throw new RangeError('SMBIOS string set is not NUL-terminated');
    if (nul === offset) return { type, strings, end: offset + 1 };
    strings.push(Buffer.from(raw.subarray(offset, nul)).toString('utf8'));
    offset = nul + 1;
  }
  return { type, strings, end: offset };
}

/** OEM strings of one type-11 structure; the count byte bounds what is read. */
export function parseOemStrings(raw: Uint8Array): string[] {
  const { type, strings } = parseStructureStrings(raw);
  if (type !== SMBIOS_OEM_STRINGS) throw new RangeError(`SMBIOS structure type ${type} is not OEM strings (11)`);
  const count = raw[4] ?? 0;
  return strings.slice(0, count);
}

/** Type-11 OEM strings of a whole table (`/sys/firmware/dmi/tables/DMI`), in table order. */
export function oemStringsFromTable(table: Uint8Array): string[] {
  const found: string[] = [];
  let offset = 0;
  while (offset + 4 <= table.length) {
    const { type, end } = parseStructureStrings(table.subarray(offset));
    if (type === SMBIOS_OEM_STRINGS) found.push(...parseOemStrings(table.subarray(offset, offset + end)));
    if (type === 127) break; // end-of-table
    offset += end;
  }
  return found;
}

/**
 * Reads all OEM strings the firmware gave. Uses the per-entry files of the dmi-sysfs module when
 * present, and otherwise the whole table, which the kernel always exports. Both need root.
 * Returns undefined when neither exists (not a DMI system, or an old kernel).
 */
export async function readOemStrings(root: string): Promise<string[] | undefined> {
  const entries = join(root, 'sys/firmware/dmi/entries');
  let names: string[] | undefined;
  try {
    names = (await readdir(entries)).filter((n) => n.startsWith(`${SMBIOS_OEM_STRINGS}-`));
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  if (names !== undefined) {
    names.sort((a, b) => Number(a.split('-')[1]) - Number(b.split('-')[1]));
    const strings: string[] = [];
    for (const name of names) strings.push(...parseOemStrings(await readFile(join(entries, name, 'raw'))));
    return strings;
  }
  try {
    return oemStringsFromTable(await readFile(join(root, 'sys/firmware/dmi/tables/DMI')));
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

function isNotFound(err: unknown): boolean {
  // Not `instanceof Error`: errors from node:fs come from another realm under some test runners.
  const code = typeof err === 'object' && err !== null ? (err as NodeJS.ErrnoException).code : undefined;
  return code === 'ENOENT' || code === 'ENOTDIR';
}
