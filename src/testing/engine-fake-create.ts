/**
 * A shell standing in for `pier-runtime create` in the monitor's tests: it starts the "container"
 * in the background, writes its pid and exits, so the process is re-parented to the monitor.
 */

/**
 * The argv of a fake `create` that runs `script` as the container process. The container waits
 * until the fake runtime is gone (reaped by the monitor) before running `script`: a shell that is
 * still alive when its background child exits may reap that child itself, and then the monitor,
 * which never sees the container's status, rightly reports 255. `pier-runtime create` never reaps
 * its container; the fake must not either.
 */
export function fakeCreate(pidFile: string, script: string): string[] {
  // The runtime's pid is passed as $0: $PPID would be the monitor's if the runtime exited first.
  const waitForRuntime = "while kill -0 $0 2>/dev/null; do sleep 0.01; done; ";
  return ["/bin/sh", "-c", `/bin/sh -c '${waitForRuntime}${script}' $$ & echo $! > ${pidFile}`];
}
