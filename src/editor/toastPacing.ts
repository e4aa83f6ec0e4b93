// Keeps a result's notification from being swallowed by VS Code's toast spam protection.
//
// VS Code shows at most 3 new notification toasts in any 800 ms (NotificationsToasts.SPAM_PROTECTION in
// src/vs/workbench/browser/parts/notifications/notificationsToasts.ts, counted from the first toast of the burst); a
// fourth goes to the notification center only, with nothing on screen but a dot on the bell. A fleet scan opens a
// progress notification for the fleet and one per context, so a fleet that finished quickly lost its "N of M contexts
// scanned" toast (seen in UI test 21: every time on an idle machine, never on a busy one).

/** Longer than VS Code's 800 ms window, so the burst's window has closed whatever its first toast's time was. */
export const toastQuietMs = 1_000;

export class ToastPacing {
  private lastOpenedAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly now: () => number = () => Date.now(),
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  ) {}

  /** Called whenever this extension opens a notification (a progress notification included). */
  opened(): void {
    this.lastOpenedAt = this.now();
  }

  /** Resolves once no notification was opened for toastQuietMs: then a new one is shown as a toast. */
  async quiet(): Promise<void> {
    for (;;) {
      const wait = this.lastOpenedAt + toastQuietMs - this.now();
      if (wait <= 0) return;
      await this.sleep(wait);
    }
  }
}
