// Text formatting for the dashboard. Counts arrive as numbers or, above 2^53 - 1, as BigInts.

const GROUPED = new Intl.NumberFormat("en-US");

/** Formats a count exactly, with thousands separators, whether it is a number or a BigInt. */
export function formatCount(count) {
  return GROUPED.format(BigInt(count));
}

/** Formats a distinct-count estimate, rounded to a whole number. */
export function formatEstimate(value) {
  return `≈ ${GROUPED.format(Math.round(value))}`;
}

/** Formats milliseconds since the Unix epoch as `YYYY-MM-DD hh:mm:ss` in UTC. */
export function formatTime(millis) {
  const date = new Date(Number(millis));
  if (Number.isNaN(date.getTime())) {
    return `${millis} ms`;
  }
  return date.toISOString().replace("T", " ").replace(/\.000Z$|Z$/, "");
}

/** Formats a window `{start, end}` as `start – end`, or "none" when it is undefined. */
export function formatWindow(window) {
  if (window === undefined) {
    return "none";
  }
  return `${formatTime(window.start)} – ${formatTime(window.end)}`;
}

/** Returns the key that groups snapshots of the same dimension ("" for none). */
export function dimensionKey(dimension) {
  return dimension === undefined ? "" : `${dimension.name}=${dimension.value}`;
}

/** Returns the key that groups snapshots of the same window ("" for none). */
export function windowKey(window) {
  return window === undefined ? "" : `${window.start}/${window.end}`;
}

/** Shortens `text` to at most `max` characters, ending with "…" when it was cut. */
export function shorten(text, max) {
  const characters = Array.from(text);
  return characters.length <= max ? text : `${characters.slice(0, max - 1).join("")}…`;
}
