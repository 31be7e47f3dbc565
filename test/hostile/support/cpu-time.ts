/**
 * CPU milliseconds this process spent running `fn` (user + system). The time limits of the hostile-input tests and
 * fuzzers are about the work an input costs us; wall time on a shared CI machine also counts everyone else's.
 */
export function cpuMs<T>(fn: () => T): { value: T; ms: number } {
  const before = process.cpuUsage();
  const value = fn();
  const used = process.cpuUsage(before);
  return { value, ms: (used.user + used.system) / 1000 };
}

/** The same for async work (other work of this process in the meantime counts too: run it alone). */
export async function cpuMsAsync<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const before = process.cpuUsage();
  const value = await fn();
  const used = process.cpuUsage(before);
  return { value, ms: (used.user + used.system) / 1000 };
}
