// The median and a bootstrap interval of it: how the agreement benches summarise their rounds.
'use strict';

function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/**
 * A 95% interval of the median of `ratios`, by bootstrap (2000 resamples, fixed seed so that
 * the same data print the same interval).
 */
function bootstrapMedian(ratios) {
  let seed = 12345;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const medians = [];
  for (let b = 0; b < 2000; b++) medians.push(median(ratios.map(() => ratios[Math.floor(rand() * ratios.length)])));
  medians.sort((a, b) => a - b);
  return [medians[Math.floor(0.025 * medians.length)], medians[Math.ceil(0.975 * medians.length) - 1]];
}

module.exports = { median, bootstrapMedian };
