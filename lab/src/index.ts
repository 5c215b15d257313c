// guestbench lab: matrices of hypervisor configurations run through libvirt.
export { AXIS_NAMES, AXIS_TITLES, configurationLabel, configurationSettings, defaultConfiguration } from './matrix/axes';
export type { AxisName, Configuration } from './matrix/axes';
export { parseMatrix, isMatrixError, MatrixError } from './matrix/parse-matrix';
export type { Matrix } from './matrix/parse-matrix';
export { planGuests } from './matrix/plan';
export type { PlannedGuest } from './matrix/plan';
export { domainXml, configurationProblem } from './libvirt/domain-xml';
export type { DomainSpec, GuestNetwork } from './libvirt/domain-xml';
export { LAB_PREFIX } from './libvirt/guest-name';
export { main } from './cli/main';
