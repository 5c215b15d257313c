// The agent's version, sent with every run; the collector pairs only equal major versions.
export const AGENT_VERSION = '0.1.0';
