// Exchange-local time for the chart. The platform sends UTC epoch seconds and a table of
// [from_t, offset_s] pairs; the chart is fed t + offset ("display time"), which it then shows as
// if it were UTC, so the axis and the crosshair read New York wall time on both sides of DST.

/** Display times of a chart payload's bars (``local_t`` when the platform had to nudge them). */
export function displayTimes(payload) {
  const t = payload.bars.t;
  if (Array.isArray(payload.local_t) && payload.local_t.length === t.length) {
    return payload.local_t.slice();
  }
  const table = payload.tz_offsets ?? [];
  const out = new Array(t.length);
  let k = 0;
  for (let i = 0; i < t.length; i += 1) {
    while (k + 1 < table.length && table[k + 1][0] <= t[i]) k += 1;
    out[i] = t[i] + (table.length ? table[k][1] : easternOffset(t[i]));
  }
  return out;
}

function nthSunday(year, month, n) {
  // Day of the month of the n-th Sunday (n = -1: the last) of ``month`` (0-based).
  if (n > 0) {
    const first = new Date(Date.UTC(year, month, 1)).getUTCDay();
    return 1 + ((7 - first) % 7) + 7 * (n - 1);
  }
  const lastDay = new Date(Date.UTC(year, month + 1, 0));
  return lastDay.getUTCDate() - lastDay.getUTCDay();
}

const transitions = new Map();

function dstBounds(year) {
  // UTC seconds when US Eastern DST starts and ends (rules since 1987; 2007 change included).
  if (!transitions.has(year)) {
    const [startMonth, startN, endMonth, endN] = year >= 2007 ? [2, 2, 10, 1] : [3, 1, 9, -1];
    const start = Date.UTC(year, startMonth, nthSunday(year, startMonth, startN), 7) / 1000;
    const end = Date.UTC(year, endMonth, nthSunday(year, endMonth, endN), 6) / 1000;
    transitions.set(year, [start, end]);
  }
  return transitions.get(year);
}

/** Offset of America/New_York from UTC at UTC second ``t`` (-14400 in summer, -18000 else). */
export function easternOffset(t) {
  const [start, end] = dstBounds(new Date(t * 1000).getUTCFullYear());
  return t >= start && t < end ? -14400 : -18000;
}

const zoneFormats = new Map();
const zoneHours = new Map();

/**
 * Offset of IANA ``zone`` from UTC at UTC second ``t`` (America/New_York by the rule above,
 * other zones through Intl, cached per zone and hour: offsets change on whole hours at most
 * every few months, and a chart maps many thousands of times).
 */
export function zoneOffset(t, zone) {
  if (!zone || zone === "America/New_York") return easternOffset(t);
  const hour = Math.floor(t / 3600);
  let cache = zoneHours.get(zone);
  if (!cache) {
    cache = new Map();
    zoneHours.set(zone, cache);
  }
  let offset = cache.get(hour);
  if (offset === undefined) {
    let format = zoneFormats.get(zone);
    if (!format) {
      try {
        format = new Intl.DateTimeFormat("en-US", {
          timeZone: zone, hourCycle: "h23", year: "numeric", month: "numeric", day: "numeric",
          hour: "numeric", minute: "numeric", second: "numeric",
        });
      } catch {
        format = null; // an unknown zone: read as UTC
      }
      zoneFormats.set(zone, format);
    }
    if (!format) return 0;
    const at = hour * 3600;
    const parts = Object.fromEntries(format.formatToParts(new Date(at * 1000)).map((p) => [p.type, p.value]));
    const wall = Date.UTC(Number(parts.year), Number(parts.month) - 1, Number(parts.day),
      Number(parts.hour) % 24, Number(parts.minute), Number(parts.second)) / 1000;
    offset = wall - at;
    cache.set(hour, offset);
  }
  return offset;
}

const pad = (n) => String(n).padStart(2, "0");
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

/** "Tue 04 Nov 2026 10:35" for a display time; date only for daily and weekly bars. */
export function formatDisplayTime(display, { daily = false, seconds = false } = {}) {
  const d = new Date(display * 1000);
  const date = `${DAYS[d.getUTCDay()]} ${pad(d.getUTCDate())} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()}`;
  if (daily) return date;
  const time = `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`;
  return `${date} ${seconds ? `${time}:${pad(d.getUTCSeconds())}` : time}`;
}

/** "2026-11-04 10:35" of a UTC second, in exchange time (New York unless ``zone``). */
export function formatUtcAsExchange(t, { daily = false, zone = null } = {}) {
  const d = new Date((t + zoneOffset(t, zone)) * 1000);
  const date = `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
  return daily ? date : `${date} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`;
}

let market = null; // {now, speed, at}: the platform's market clock, when it said

/**
 * Take the platform's market clock ({now, speed} from /health): a replayed session's "today"
 * is a past day, running ``speed`` times faster than the wall clock.
 */
export function setMarketClock({ now, speed }) {
  if (typeof now === "number" && typeof speed === "number") market = { now, speed, at: Date.now() / 1000 };
}

/** UTC epoch seconds on the market's clock (the wall clock until the platform said). */
export function marketNow() {
  const wall = Date.now() / 1000;
  return market ? market.now + (wall - market.at) * market.speed : wall;
}

/** ISO date (YYYY-MM-DD) of "today" in New York, ``daysBack`` calendar days ago. */
export function exchangeDate(daysBack = 0) {
  const now = Math.floor(marketNow()) - daysBack * 86400;
  const d = new Date((now + easternOffset(now)) * 1000);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
}
