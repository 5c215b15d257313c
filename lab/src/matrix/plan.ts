// From a matrix to the guests the lab will run: every configuration with its defaults filled in,
// its group label, its libvirt name, and the problems that would stop it, found before anything runs.
import { defaultConfiguration, configurationLabel, type Configuration } from './axes';
import { configurationProblem } from '../libvirt/domain-xml';
import { MatrixError, type Matrix } from './parse-matrix';

export interface PlannedGuest {
  /** 1-based, in matrix order. */
  readonly index: number;
  readonly config: Configuration;
  /** The run's label: its group is `PLATFORM/LABEL` (`qemu/disk=sata.nic=e1000`). */
  readonly label: string;
}

/** Fills in defaults for the accelerator and checks each configuration can run with it. */
export function planGuests(matrix: Matrix, accelerator: 'kvm' | 'tcg'): PlannedGuest[] {
  const defaults = defaultConfiguration(accelerator);
  const problems: string[] = [];
  const guests = matrix.configurations.map((partial, i) => {
    const config: Configuration = { ...defaults, ...partial };
    const set = Object.keys(partial) as (keyof Configuration)[];
    const label = configurationLabel(config, matrix.varied.length > 0 ? matrix.varied : set) || 'lab';
    const problem = configurationProblem(config, accelerator === 'kvm' ? 'kvm' : 'qemu');
    if (problem !== undefined) problems.push(`configuration ${i + 1} (${label}): ${problem}`);
    return { index: i + 1, config, label };
  });
  if (problems.length > 0) throw new MatrixError(problems);
  return guests;
}
