// A matrix from a file or a built-in, with the command line's overrides applied.
import { readFile } from 'node:fs/promises';
import type { MatrixOverrides, MatrixSource } from '../cli/parse-arguments';
import { BUILTIN_MATRICES, builtinMatrixText } from './builtin';
import { MatrixError, parseMatrix, type Matrix } from './parse-matrix';
import { directBootFor, type DirectBoot } from '../libvirt/direct-boot';

export async function loadMatrix(source: MatrixSource, overrides: MatrixOverrides, accelerator: 'kvm' | 'tcg'): Promise<Matrix> {
  let text: string;
  let file: string;
  if (source.kind === 'builtin') {
    const builtin = builtinMatrixText(source.name, accelerator);
    if (builtin === undefined) throw new MatrixError([`--builtin: no built-in matrix "${source.name}"; there is ${BUILTIN_MATRICES.join(', ')}`]);
    text = builtin;
    file = `builtin:${source.name}`;
  } else {
    try {
      text = await readFile(source.path, 'utf8');
    } catch (err: unknown) {
      throw new MatrixError([`${source.path}: cannot read the matrix (${(err as NodeJS.ErrnoException).code ?? String(err)})`], { cause: err });
    }
    file = source.path;
  }
  const matrix = parseMatrix(text, file);
  return {
    ...matrix,
    image: overrides.image ?? matrix.image,
    collector: overrides.collector ?? matrix.collector,
    profile: overrides.profile ?? matrix.profile,
  };
}

/** The kernel boot the matrix asks for, or undefined for the disk's own boot loader. */
export function resolveBoot(matrix: Matrix): DirectBoot | undefined {
  if (matrix.boot === 'disk') return undefined;
  const direct = directBootFor(matrix.image);
  if (direct === undefined && matrix.boot === 'kernel') {
    throw new MatrixError([
      `boot: kernel needs a manifest beside ${matrix.image} naming it with its kernel, initrd and cmdline (build-image.sh writes one); use boot: disk otherwise`,
    ]);
  }
  return direct;
}
