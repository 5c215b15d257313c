// Shapes and bounds that both sides of the protocol agree on: the agent's registry is
// checked against them in a test, and the collector refuses messages outside them.

/** A benchmark id: category.name in lower case, e.g. "cpu.int32". */
export const BENCHMARK_ID_PATTERN = /^[a-z][a-z0-9_]*\.[a-z0-9_]+$/;
/** A metric name within a benchmark: lower case, digits, _ and ., e.g. "p99" or "chase_in_cache". */
export const METRIC_PATTERN = /^[a-z][a-z0-9_.]{0,63}$/;
/** Agent, run, sample and job ids. */
export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
/**
 * A run label: empty, or letters, digits and . _ - = ("disk=sata.nic=e1000"). No slashes
 * ("platform/label" names a group) and no commas (queries list groups comma-separated:
 * `groups=kvm/a,kvm/b`, `aa=A,B`).
 */
export const LABEL_PATTERN = /^[A-Za-z0-9._=-]{0,64}$/;
export const MAX_UNIT_LENGTH = 32;
export const MAX_SAMPLES_PER_MESSAGE = 1000;
export const MAX_TRIALS = 10_000;
export const MAX_PARAMETERS = 64;
