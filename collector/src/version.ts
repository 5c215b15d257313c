// The collector's version, for --version (kept equal to package.json by a test).
export const COLLECTOR_VERSION = '0.1.0';
