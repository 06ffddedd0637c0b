// The trader's last choices (chart, strategy, parameters, panels), kept in localStorage so a
// reload comes back to the same screen. Bad or missing storage just means defaults.
const KEY = "ray-trader:prefs:v1";

/** Everything saved so far ({} when nothing is, or storage is unavailable). */
export function loadPrefs() {
  try {
    const value = JSON.parse(localStorage.getItem(KEY) ?? "{}");
    return value && typeof value === "object" ? value : {};
  } catch {
    return {};
  }
}

/** Merge ``patch`` into the saved choices. */
export function savePrefs(patch) {
  try {
    localStorage.setItem(KEY, JSON.stringify({ ...loadPrefs(), ...patch }));
  } catch {
    // private mode or full storage: choices are not kept, nothing else changes
  }
}
