// Toasts: short messages in the corner. Errors stay until closed (or replaced by the same key);
// the rest fade after a few seconds. An action button (e.g. "Retry") is optional. While a modal
// dialog is open (Import), the stack moves into it until it closes: outside, a toast would sit
// under the dialog's backdrop, dimmed, and its buttons would not take a click.

const ICONS = {
  error: '<path d="M12 8v5m0 3h.01M10.3 3.9 1.8 18a2 2 0 0 0 1.7 3h17a2 2 0 0 0 1.7-3L13.7 3.9a2 2 0 0 0-3.4 0Z"/>',
  warning: '<path d="M12 8v5m0 3h.01M12 3a9 9 0 1 0 0 18 9 9 0 0 0 0-18Z"/>',
  success: '<path d="m5 13 4 4L19 7"/>',
  info: '<path d="M12 16v-4m0-4h.01M12 3a9 9 0 1 0 0 18 9 9 0 0 0 0-18Z"/>',
};

// Full class names, so that Tailwind's scan of the sources finds them.
const TONES = {
  error: "border-l-error", warning: "border-l-warning", success: "border-l-success", info: "border-l-info",
};
const ICON_TONES = { error: "text-error", warning: "text-warning", success: "text-success", info: "text-info" };

export class Toasts {
  constructor(root) {
    this.root = root;
    this.byKey = new Map();
    this.shown = [];
  }

  /**
   * Show a toast. ``key`` replaces an earlier toast with the same key; ``action`` is
   * {label, run}; ``timeoutMs`` 0 keeps it until closed.
   */
  show({ kind = "info", title, message = "", key = null, action = null, timeoutMs = null }) {
    if (key && this.byKey.has(key)) this.byKey.get(key).remove();
    const el = document.createElement("div");
    el.className = `alert w-[22rem] items-start gap-2 border border-base-300 border-l-4 bg-base-200 py-2 text-sm shadow-xl ${TONES[kind]}`;
    el.setAttribute("role", kind === "error" ? "alert" : "status");
    el.dataset.kind = kind;
    if (key) el.dataset.key = key;
    el.innerHTML =
      `<svg xmlns="http://www.w3.org/2000/svg" class="mt-0.5 size-4 shrink-0 ${ICON_TONES[kind]}" fill="none" viewBox="0 0 24 24" stroke="currentColor" stroke-width="2" aria-hidden="true">${ICONS[kind]}</svg>` +
      '<div class="min-w-0 flex-1"><div class="toast-title font-semibold"></div><div class="toast-message break-words text-xs opacity-90"></div></div>' +
      '<div class="flex shrink-0 items-center gap-1"></div>';
    el.querySelector(".toast-title").textContent = title;
    el.querySelector(".toast-message").textContent = message;
    const buttons = el.lastElementChild;
    if (action) {
      const btn = document.createElement("button");
      btn.type = "button";
      btn.className = "btn btn-xs";
      btn.textContent = action.label;
      btn.addEventListener("click", () => {
        close();
        action.run();
      });
      buttons.append(btn);
    }
    const closeBtn = document.createElement("button");
    closeBtn.type = "button";
    closeBtn.className = "btn btn-ghost btn-xs btn-square";
    closeBtn.setAttribute("aria-label", "Dismiss");
    closeBtn.textContent = "✕";
    buttons.append(closeBtn);
    const close = () => {
      el.remove();
      if (key && this.byKey.get(key) === el) this.byKey.delete(key);
    };
    closeBtn.addEventListener("click", close);
    this._raise();
    this.root.append(el);
    while (this.root.children.length > 4) this.root.firstElementChild.remove();
    if (key) this.byKey.set(key, el);
    this.shown.push({ kind, title, message, key, at: Date.now() });
    const timeout = timeoutMs ?? (kind === "error" || action ? 0 : 4000);
    if (timeout > 0) setTimeout(close, timeout);
    return { close, element: el };
  }

  _raise() {
    const modal = document.querySelector("dialog:modal");
    if (!modal || modal.contains(this.root)) return;
    const home = this.root.parentElement;
    modal.append(this.root);
    modal.addEventListener("close", () => home.append(this.root), { once: true });
  }

  /** Close the toast shown under ``key``, if any. */
  dismiss(key) {
    this.byKey.get(key)?.remove();
    this.byKey.delete(key);
  }
}
