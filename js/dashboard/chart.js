// The top-K bar chart: one horizontal bar per row for the estimate, with a whisker from the
// guaranteed lower bound to the upper bound. Built from SVG elements; every string from the data
// goes in through textContent only.

import { formatCount, shorten } from "./format.js";

const SVG = "http://www.w3.org/2000/svg";

/** Most rows drawn; the table below the chart lists all of them. */
export const CHART_ROWS = 50;

const WIDTH = 960;
const LABEL_WIDTH = 300;
const RIGHT_MARGIN = 24;
const ROW_HEIGHT = 22;
const AXIS_HEIGHT = 28;
const LABEL_CHARACTERS = 40;

/** Creates an SVG element with the given attributes. */
function element(name, attributes = {}) {
  const node = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) {
    node.setAttribute(key, String(value));
  }
  return node;
}

/** Returns about `count` round tick values from 0 to at least `max`. */
function ticks(max, count) {
  if (max <= 0) {
    return [0];
  }
  const rough = max / count;
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 5, 10].map((factor) => factor * magnitude).find((candidate) => candidate >= rough);
  const values = [];
  for (let value = 0; value <= max + step / 2; value += step) {
    values.push(value);
  }
  return values;
}

/**
 * Draws `rows` (`{item, estimate, lowerBound, upperBound}`, counts as numbers or BigInts) into
 * `svg`, replacing what it held; draws at most CHART_ROWS of them.
 */
export function renderChart(svg, rows) {
  const drawnRows = rows.slice(0, CHART_ROWS);
  const height = AXIS_HEIGHT + Math.max(drawnRows.length, 1) * ROW_HEIGHT + 8;
  svg.replaceChildren();
  svg.setAttribute("viewBox", `0 0 ${WIDTH} ${height}`);
  svg.setAttribute("height", String(height));

  if (drawnRows.length === 0) {
    const empty = element("text", { x: WIDTH / 2, y: AXIS_HEIGHT, "text-anchor": "middle", class: "empty" });
    empty.textContent = "No rows to draw.";
    svg.append(empty);
    return;
  }

  // Scales use Number: a BigInt count above 2^53 loses low digits here, which no pixel shows.
  const max = Math.max(...drawnRows.map((row) => Number(row.upperBound)));
  const tickValues = ticks(max, 6);
  const domain = tickValues[tickValues.length - 1] || 1;
  const plotWidth = WIDTH - LABEL_WIDTH - RIGHT_MARGIN;
  const x = (value) => LABEL_WIDTH + (Number(value) / domain) * plotWidth;

  const axis = element("g", { class: "axis" });
  for (const value of tickValues) {
    axis.append(element("line", { x1: x(value), x2: x(value), y1: AXIS_HEIGHT - 6, y2: height - 8, class: "grid" }));
    const label = element("text", { x: x(value), y: AXIS_HEIGHT - 10, "text-anchor": "middle" });
    label.textContent = formatCount(BigInt(Math.round(value)));
    axis.append(label);
  }
  svg.append(axis);

  drawnRows.forEach((row, index) => {
    const top = AXIS_HEIGHT + index * ROW_HEIGHT;
    const middle = top + ROW_HEIGHT / 2;
    const group = element("g", { class: "row", "data-index": index });

    const title = element("title");
    title.textContent = `${row.item}: estimate ${formatCount(row.estimate)}, bounds ${formatCount(row.lowerBound)} to ${formatCount(row.upperBound)}`;
    const label = element("text", { x: LABEL_WIDTH - 8, y: middle + 4, "text-anchor": "end", class: "label" });
    label.textContent = shorten(row.item, LABEL_CHARACTERS);
    const bar = element("rect", { x: LABEL_WIDTH, y: top + 3, width: Math.max(x(row.estimate) - LABEL_WIDTH, 1), height: ROW_HEIGHT - 6, class: "bar" });
    const whisker = element("line", { x1: x(row.lowerBound), x2: x(row.upperBound), y1: middle, y2: middle, class: "error-bar" });
    const lowCap = element("line", { x1: x(row.lowerBound), x2: x(row.lowerBound), y1: middle - 5, y2: middle + 5, class: "error-cap" });
    const highCap = element("line", { x1: x(row.upperBound), x2: x(row.upperBound), y1: middle - 5, y2: middle + 5, class: "error-cap" });

    group.append(title, label, bar, whisker, lowCap, highCap);
    svg.append(group);
  });
}
