// A chore that runs once now (unless told otherwise) and then every interval, on a timer that never keeps the process
// alive; a slow run is never joined by a second one, and stop() waits for a run under way.

export interface PeriodicTask {
  /** stops the timer and waits for a run under way */
  stop(): Promise<void>;
  /** runs the chore now (or joins the run under way) */
  runNow(): Promise<void>;
}

export async function startPeriodic(
  task: () => Promise<void>,
  intervalMs: number,
  onError: (error: unknown) => void,
  options: { atStart?: boolean } = {},
): Promise<PeriodicTask> {
  let running: Promise<void> | undefined;
  const runNow = (): Promise<void> => {
    running ??= task()
      .catch(onError)
      .finally(() => {
        running = undefined;
      });
    return running;
  };
  if (options.atStart ?? true) await runNow();
  const timer = setInterval(() => void runNow(), intervalMs);
  timer.unref();
  return {
    runNow,
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
