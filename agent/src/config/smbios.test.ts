import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve as resolvePath } from 'node:path';
import { oemStringsEntry, smbiosStructure } from '../../test/fixtures/config/smbios-bytes';
import { oemStringsFromTable, parseOemStrings, readOemStrings } from './smbios';

describe('SMBIOS OEM strings', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'gb-smbios-'));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('reads the strings of a type-11 entry in the kernel raw layout', () => {
    const raw = oemStringsEntry(['guestbench.collector=10.0.2.2:50051', 'guestbench.token=abc']);
    expect(raw.subarray(0, 5)).toEqual(Buffer.from([11, 5, 0x00, 0x0b, 2]));
    expect(parseOemStrings(raw)).toEqual(['guestbench.collector=10.0.2.2:50051', 'guestbench.token=abc']);
  });

  it('reads the entry a QEMU guest kernel exported (captured bytes)', async () => {
    const raw = await readFile(resolvePath(__dirname, '../../test/fixtures/config/qemu-tcg/sys/firmware/dmi/entries/11-0/raw'));
    expect([...raw.subarray(0, 5)]).toEqual([11, 5, 0x00, 0x0e, 3]);
    expect(parseOemStrings(raw)).toEqual(['guestbench.collector=10.0.2.2:50051', 'guestbench.label=tcg-standin', 'guestbench.profile=smoke']);
  });

  it('reads no more strings than the count byte says', () => {
    const raw = oemStringsEntry(['one', 'two']);
    raw[4] = 1;
    expect(parseOemStrings(raw)).toEqual(['one']);
  });

  it('rejects a structure of another type and a truncated string set', () => {
    expect(() => parseOemStrings(smbiosStructure(1, 1, [1, 2, 3], ['QEMU']))).toThrow(/type 1 is not OEM strings/);
    expect(() => parseOemStrings(Buffer.from([11, 5, 0, 0, 1, 0x61, 0x62]))).toThrow(/not NUL-terminated/);
  });

  it('finds type-11 structures in a whole DMI table, past structures without strings', () => {
    const table = Buffer.concat([
      smbiosStructure(0, 0, [1, 2, 0, 0xe8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], ['SeaBIOS', '1.16.2-debian-1.16.2-1', '04/01/2014']),
      smbiosStructure(32, 0x2000, [0, 0, 0, 0, 0, 0, 0], []),
      oemStringsEntry(['guestbench.collector=10.0.2.2:50051']),
      smbiosStructure(127, 0x7f00, [], []),
      oemStringsEntry(['after the end marker']),
    ]);
    expect(oemStringsFromTable(table)).toEqual(['guestbench.collector=10.0.2.2:50051']);
  });

  it('prefers the dmi-sysfs entries and falls back to the whole table', async () => {
    expect(await readOemStrings(root)).toBeUndefined();

    await mkdir(join(root, 'sys/firmware/dmi/tables'), { recursive: true });
    await writeFile(join(root, 'sys/firmware/dmi/tables/DMI'), Buffer.concat([oemStringsEntry(['from-table']), smbiosStructure(127, 1, [], [])]));
    expect(await readOemStrings(root)).toEqual(['from-table']);

    for (const [n, s] of [
      [0, 'first'],
      [1, 'second'],
    ] as const) {
      await mkdir(join(root, `sys/firmware/dmi/entries/11-${n}`), { recursive: true });
      await writeFile(join(root, `sys/firmware/dmi/entries/11-${n}/raw`), oemStringsEntry([s]));
    }
    await mkdir(join(root, 'sys/firmware/dmi/entries/1-0'), { recursive: true });
    expect(await readOemStrings(root)).toEqual(['first', 'second']);
  });
});
