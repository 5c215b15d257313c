import { clockReads, sysClock } from './sys/clock';
import { allowedCpus, parseCpuList } from './sys/cpu-affinity';
import { PingPong, sysCtxswitch } from './sys/ctxswitch';
import { spawnOnce, sysSpawn } from './sys/spawn';
import { getuidCalls, sysSyscall } from './sys/syscall';
import { expectRates, oneTrial } from '../../test/helpers/kernel-trial';

describe('sys.spawn', () => {
  it('measures a finite positive rate in spawns/s on one CPU, and unpins afterwards', async () => {
    const before = allowedCpus();
    const { values, parameters } = await oneTrial(sysSpawn, { minSpawns: 2 });
    expect(allowedCpus()).toEqual(before);
    expectRates(sysSpawn, values);
    expect(sysSpawn.metrics[0]?.unit).toBe('spawns/s');
    expect(values['rate']).toBeLessThan(1e6);
    expect(parameters).toEqual({ command: '/bin/true', cpus: 'one' });
  });

  it('fails when the spawned program fails', async () => {
    await expect(spawnOnce('/bin/false')).rejects.toThrow(/exited with 1/);
    await expect(spawnOnce('/nonexistent/program')).rejects.toThrow(/ENOENT/);
  });

  it('refuses a bad setting', () => {
    expect(() => sysSpawn.parseSettings({ minSpawns: 1.5 })).toThrow('sys.spawn: setting "minSpawns" must be a whole number from 1 to 100000, got 1.5');
  });
});

describe('sys.syscall', () => {
  it('measures two finite positive times in ns: the getuid round trip, and the binding alone', async () => {
    const { values, parameters } = await oneTrial(sysSyscall);
    expectRates(sysSyscall, values);
    // No metric is a difference of two measurements, so none can come out negative.
    expect(sysSyscall.metrics.map((m) => [m.name, m.unit, m.primary])).toEqual([
      ['call', 'ns', true],
      ['binding', 'ns', false],
    ]);
    // A system call costs more than a binding call that makes none.
    expect(values['call']).toBeGreaterThan(values['binding'] as number);
    expect(parameters).toEqual({ call: 'getuid' });
  });

  it('really calls getuid', () => {
    expect(getuidCalls(3)).toBe(3 * (process.getuid as () => number)());
  });
});

describe('sys.ctxswitch', () => {
  it('measures a finite positive rate in round trips/s on one CPU, and unpins afterwards', async () => {
    const before = allowedCpus();
    const { values, parameters } = await oneTrial(sysCtxswitch, { minRoundTrips: 10 });
    expectRates(sysCtxswitch, values);
    expect(sysCtxswitch.metrics[0]?.unit).toBe('round trips/s');
    expect(parameters).toEqual({ peer: 'cat', tokenBytes: '1', cpus: 'one' });
    expect(allowedCpus()).toEqual(before);
  });

  (allowedCpus().length >= 2 ? it : it.skip)('can put the peer on another CPU', async () => {
    const { values, parameters } = await oneTrial(sysCtxswitch, { minRoundTrips: 10, crossCpu: 1 });
    expectRates(sysCtxswitch, values);
    expect(parameters['cpus']).toBe('two');
  });

  it('refuses a bad mode', () => {
    expect(() => sysCtxswitch.parseSettings({ crossCpu: 2 })).toThrow('sys.ctxswitch: setting "crossCpu" must be a whole number from 0 to 1, got 2');
  });

  it('reads kernel CPU lists', () => {
    expect(parseCpuList('0-3,6,8-9\n')).toEqual([0, 1, 2, 3, 6, 8, 9]);
    expect(parseCpuList('5')).toEqual([5]);
    expect(() => parseCpuList('a-b')).toThrow(/not a CPU list/);
  });

  it('passes the token back and forth the number of times asked', async () => {
    const peer = new PingPong();
    try {
      const seconds = await peer.roundTrips(50);
      expect(seconds).toBeGreaterThan(0);
      expect(await peer.roundTrips(1)).toBeGreaterThan(0);
    } finally {
      await peer.close();
    }
  });

  it('fails clearly when the peer does not echo', async () => {
    const peer = new PingPong('/bin/true');
    try {
      await expect(peer.roundTrips(5)).rejects.toThrow(/exited early|EPIPE/);
    } finally {
      await peer.close();
    }
  });
});

describe('sys.clock', () => {
  it('measures a finite positive cost per read in ns', async () => {
    const { values, parameters } = await oneTrial(sysClock);
    expectRates(sysClock, values);
    expect(sysClock.metrics[0]?.unit).toBe('ns');
    expect(parameters).toEqual({ call: 'performance.now' });
  });

  it('reads a clock that moves forward', () => {
    const a = clockReads(1);
    const b = clockReads(1);
    expect(b).toBeGreaterThanOrEqual(a);
  });
});
