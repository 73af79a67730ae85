// The interactive map: draws the points on a canvas, zooms with the wheel and pans by dragging,
// shows the nearest point on hover, highlights the points a search matches, recolours by the
// chosen field, and toggles categories from the legend. The data comes from the JSON element
// "map-data" written by emb-plot's html.rs, whose comments describe its fields. Inside a frame
// (emb serve's page) it also talks to the page around it: see "In a frame" below.
(function () {
  'use strict';

  const data = JSON.parse(document.getElementById('map-data').textContent);
  const count = data.ids.length;

  // Elements.
  const plot = document.getElementById('plot');
  const canvas = document.getElementById('canvas');
  const context = canvas.getContext('2d');
  const overlay = document.getElementById('overlay'); // the hovered point, drawn apart so hovering is cheap
  const overlayContext = overlay.getContext('2d');
  const tooltip = document.getElementById('tooltip');
  const search = document.getElementById('search');
  const matchesText = document.getElementById('matches');
  const colourBy = document.getElementById('colour-by');
  const legend = document.getElementById('legend');

  // Measures, in CSS pixels.
  const PADDING = 24; // between the map and the canvas's edges
  const HOVER_DISTANCE = 12; // how far from a point the pointer still hovers it
  const LABEL_FONT = '600 13px system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif';
  const LABEL_HEIGHT = 22;
  const LABEL_GAP = 3;
  const LABEL_INSET = 4; // between a label and the canvas's edges
  const SCALE_STEPS = 64; // numbers are drawn in this many colours of the scale
  const DIMMED_ALPHA = 0.08; // points the search does not match
  // Above this many points the canvas keeps one pixel per CSS pixel even on high-density
  // screens: blending every point costs in proportion to the pixels it covers, and at twice
  // the density a whole map of 100,000 points takes four times as long (about 80 ms a frame
  // instead of 25 measured in headless Chromium).
  const SHARP_POINTS = 20000;
  const CLICK_DISTANCE = 4; // a press that moves further than this is a drag, not a click
  const FOCUS_ZOOM = 3; // the least zoom a point is focused at, so that its neighbourhood shows

  // Positions in world units: the longer side of the points' extent is 1, y points down.
  const side = Math.max(data.width, data.height, 1);
  const worldWidth = data.width / side;
  const worldHeight = data.height / side;
  const worldX = new Float32Array(count);
  const worldY = new Float32Array(count);
  for (let point = 0; point < count; point++) {
    worldX[point] = data.x[point] / side;
    worldY[point] = worldHeight - data.y[point] / side;
  }
  const lowerTexts = data.texts.map((text) => (text === null ? '' : text.toLowerCase()));
  const lowerIds = data.ids.map((id) => id.toLowerCase());

  // What the user has chosen.
  const state = {
    field: data.colourBy === null ? -1 : data.colourBy, // index into data.fields, or -1
    hidden: data.fields.map(() => new Set()), // per field, the legend entries switched off
    matches: null, // a Uint8Array of the points the search matches, or null without a search
    matchCount: 0,
    hover: -1, // the point under the pointer
    marked: -1, // the point the page around the map selected (only inside a frame)
    zoom: 1, // on top of the fit of the whole map
    centreX: worldWidth / 2, // the world position at the centre of the canvas
    centreY: worldHeight / 2,
  };

  // The canvas's size in CSS pixels and the device's pixel ratio, set by resize().
  let width = 0;
  let height = 0;
  let ratio = 1;

  // ---- Colours -----------------------------------------------------------------------------

  function parseHex(hex) {
    const value = parseInt(hex.slice(1), 16);
    return [(value >> 16) & 255, (value >> 8) & 255, value & 255];
  }

  function toHex(rgb) {
    return '#' + rgb.map((channel) => Math.round(channel).toString(16).padStart(2, '0')).join('');
  }

  const scaleStops = data.scale.map(parseHex);

  // The colour of the scale at t (0 for the lowest value, 1 for the highest).
  function scaleColour(t) {
    const position = Math.min(Math.max(t, 0), 1) * (scaleStops.length - 1);
    const below = Math.min(Math.floor(position), scaleStops.length - 2);
    const fraction = position - below;
    const from = scaleStops[below];
    const to = scaleStops[below + 1];
    return toHex(from.map((channel, index) => channel + (to[index] - channel) * fraction));
  }

  // How the current field colours the points: the list of colours, each point's index into
  // it, the order to draw the points in (background first), and whether a point is switched off.
  function colouring() {
    const field = data.fields[state.field];
    const ofPoint = new Uint16Array(count);
    if (!field) {
      return { colours: [data.single], ofPoint, order: identity(), isOff: () => false };
    }
    if (field.kind === 'category') {
      const hidden = state.hidden[state.field];
      const colours = field.entries.map((entry) => entry.colour);
      ofPoint.set(field.values);
      // Background entries (other, none) first, then the largest category to the smallest.
      const rank = field.entries.map((entry, index) => (entry.background ? -1 - index : index));
      const order = identity().sort((left, right) => rank[ofPoint[left]] - rank[ofPoint[right]]);
      return { colours, ofPoint, order, isOff: (point) => hidden.has(ofPoint[point]) };
    }
    const colours = [];
    for (let step = 0; step <= SCALE_STEPS; step++) colours.push(scaleColour(step / SCALE_STEPS));
    colours.push(data.missing);
    const range = field.maximum - field.minimum;
    for (let point = 0; point < count; point++) {
      const value = field.values[point];
      if (value === null) {
        ofPoint[point] = SCALE_STEPS + 1;
      } else {
        const t = range > 0 ? (value - field.minimum) / range : 0.5;
        ofPoint[point] = Math.round(Math.min(Math.max(t, 0), 1) * SCALE_STEPS);
      }
    }
    const order = identity().sort((left, right) => {
      const missingFirst = (point) => (ofPoint[point] > SCALE_STEPS ? -1 : ofPoint[point]);
      return missingFirst(left) - missingFirst(right);
    });
    return { colours, ofPoint, order, isOff: () => false };
  }

  function identity() {
    const order = new Uint32Array(count);
    for (let point = 0; point < count; point++) order[point] = point;
    return order;
  }

  let current = colouring();

  // ---- View --------------------------------------------------------------------------------

  // Pixels per world unit.
  function scale() {
    const fit = Math.min((width - 2 * PADDING) / worldWidth, (height - 2 * PADDING) / worldHeight);
    return Math.max(fit, 1e-6) * state.zoom;
  }

  function toScreenX(x, pixels) {
    return (x - state.centreX) * pixels + width / 2;
  }

  function toScreenY(y, pixels) {
    return (y - state.centreY) * pixels + height / 2;
  }

  // The radius of a point: shrinking as points multiply, like the image's, and growing a
  // little as the user zooms in.
  function radius() {
    const base =
      data.radius !== null
        ? data.radius
        : Math.min(Math.max(0.3 * Math.sqrt((width * height) / Math.max(count, 1)), 1.5), 7);
    return base * Math.min(Math.pow(state.zoom, 0.3), 3);
  }

  function opacity() {
    if (data.opacity !== null) return data.opacity;
    const thousands = Math.max(count / 1000, 1);
    return Math.min(Math.max(0.85 - 0.25 * Math.log10(thousands), 0.3), 0.85);
  }

  // ---- Drawing -----------------------------------------------------------------------------

  // Points are drawn straight into the canvas's pixels: each a disc blended over what lies
  // beneath, which is faster than a canvas call per point wherever the canvas is not on a GPU.
  let image = null;

  // How much of each pixel of a square around a disc of the given radius (in device pixels)
  // the disc covers, from 0 to 1, sampled four by four within each pixel.
  let mask = null;

  function discMask(pixelRadius) {
    if (mask !== null && mask.radius === pixelRadius) return mask;
    const size = Math.ceil(pixelRadius * 2) + 2;
    const centre = size / 2;
    const coverage = new Float32Array(size * size);
    for (let row = 0; row < size; row++) {
      for (let column = 0; column < size; column++) {
        let inside = 0;
        for (let sample = 0; sample < 16; sample++) {
          const dx = column + ((sample % 4) + 0.5) / 4 - centre;
          const dy = row + (Math.floor(sample / 4) + 0.5) / 4 - centre;
          if (dx * dx + dy * dy <= pixelRadius * pixelRadius) inside++;
        }
        coverage[row * size + column] = inside / 16;
      }
    }
    mask = { radius: pixelRadius, size, half: Math.floor(size / 2), coverage };
    return mask;
  }

  // Blends the points that `wanted` accepts into the image, each with opacity `pointAlpha`, and
  // returns how many fell on the canvas.
  function blendPoints(pixels, colours, wanted, pointAlpha) {
    const imageWidth = image.width;
    const imageHeight = image.height;
    const bytes = image.data;
    const { size, half, coverage } = mask;
    let drawn = 0;
    for (let index = 0; index < count; index++) {
      const point = current.order[index];
      if (current.isOff(point) || !wanted(point)) continue;
      const left = Math.round(toScreenX(worldX[point], pixels) * ratio) - half;
      const top = Math.round(toScreenY(worldY[point], pixels) * ratio) - half;
      if (left + size <= 0 || top + size <= 0 || left >= imageWidth || top >= imageHeight) continue;
      drawn++;
      const colour = colours[current.ofPoint[point]];
      const red = colour[0];
      const green = colour[1];
      const blue = colour[2];
      for (let row = Math.max(0, -top); row < size && top + row < imageHeight; row++) {
        const rowStart = (top + row) * imageWidth;
        for (let column = Math.max(0, -left); column < size && left + column < imageWidth; column++) {
          const cover = coverage[row * size + column];
          if (cover === 0) continue;
          const alpha = cover * pointAlpha;
          const offset = (rowStart + left + column) * 4;
          bytes[offset] += (red - bytes[offset]) * alpha;
          bytes[offset + 1] += (green - bytes[offset + 1]) * alpha;
          bytes[offset + 2] += (blue - bytes[offset + 2]) * alpha;
        }
      }
    }
    return drawn;
  }

  let frameRequested = false;

  function redraw() {
    if (frameRequested) return;
    frameRequested = true;
    requestAnimationFrame(() => {
      frameRequested = false;
      draw();
    });
  }

  function draw() {
    if (image === null || image.width !== canvas.width || image.height !== canvas.height) {
      image = context.createImageData(canvas.width, canvas.height);
    }
    new Uint32Array(image.data.buffer).fill(0xffffffff); // opaque white
    const pixels = scale();
    const pointRadius = radius();
    discMask(pointRadius * ratio);
    const colours = current.colours.map(parseHex);
    const alpha = opacity();
    const matches = state.matches;
    let drawn;
    if (matches === null) {
      drawn = blendPoints(pixels, colours, () => true, alpha);
    } else {
      drawn =
        blendPoints(pixels, colours, (point) => !matches[point], DIMMED_ALPHA) +
        blendPoints(pixels, colours, (point) => matches[point] === 1, Math.max(alpha, 0.9));
    }
    context.putImageData(image, 0, 0);
    context.setTransform(ratio, 0, 0, ratio, 0, 0);
    if (matches !== null) {
      // A thin dark ring marks each match.
      context.strokeStyle = 'rgba(0, 0, 0, 0.7)';
      context.lineWidth = 1;
      context.beginPath();
      for (let point = 0; point < count; point++) {
        if (!matches[point] || current.isOff(point)) continue;
        const x = toScreenX(worldX[point], pixels);
        const y = toScreenY(worldY[point], pixels);
        if (x < 0 || y < 0 || x > width || y > height) continue;
        context.moveTo(x + pointRadius + 1, y);
        context.arc(x, y, pointRadius + 1, 0, 2 * Math.PI);
      }
      context.stroke();
    }
    if (data.showLabels) drawLabels(pixels);
    if (state.marked >= 0) drawMark(pixels, pointRadius);
    drawHover();
    if (!announced) announce(drawn);
  }

  // A dark ring on a white halo around the marked point, above the labels so it is never hidden.
  function drawMark(pixels, pointRadius) {
    const x = toScreenX(worldX[state.marked], pixels);
    const y = toScreenY(worldY[state.marked], pixels);
    const markRadius = pointRadius + 6;
    context.beginPath();
    context.arc(x, y, markRadius, 0, 2 * Math.PI);
    context.lineWidth = 5;
    context.strokeStyle = 'rgba(255, 255, 255, 0.9)';
    context.stroke();
    context.lineWidth = 2.5;
    context.strokeStyle = '#111';
    context.stroke();
  }

  // A ring around the hovered point, on the overlay.
  function drawHover() {
    overlayContext.setTransform(ratio, 0, 0, ratio, 0, 0);
    overlayContext.clearRect(0, 0, width, height);
    if (state.hover < 0) return;
    const pixels = scale();
    overlayContext.lineWidth = 2;
    overlayContext.strokeStyle = '#000';
    overlayContext.beginPath();
    overlayContext.arc(
      toScreenX(worldX[state.hover], pixels),
      toScreenY(worldY[state.hover], pixels),
      radius() + 3,
      0,
      2 * Math.PI,
    );
    overlayContext.stroke();
  }

  // Label candidate shifts from a label's centre, in label heights, nearest first; the same
  // greedy placement as the image's: a label goes to the nearest free spot or is left out.
  const shifts = [];
  for (let column = -8; column <= 8; column++) {
    for (let row = -6; row <= 6; row++) {
      const shift = [column * 0.6, row * 0.5];
      if (Math.hypot(shift[0], shift[1]) <= 3) shifts.push(shift);
    }
  }
  shifts.sort((left, right) => Math.hypot(left[0], left[1]) - Math.hypot(right[0], right[1]));

  const labelWidths = new Map();

  function drawLabels(pixels) {
    const field = data.fields[state.field];
    if (!field || field.labels.length === 0) return;
    context.font = LABEL_FONT;
    const hidden = state.hidden[state.field];
    const placed = [];
    const overlaps = (box) =>
      placed.some(
        (other) =>
          box.left < other.left + other.width + LABEL_GAP &&
          other.left < box.left + box.width + LABEL_GAP &&
          box.top < other.top + other.height + LABEL_GAP &&
          other.top < box.top + box.height + LABEL_GAP,
      );
    for (const label of field.labels) {
      if (label.text === '' || (label.entry !== null && hidden.has(label.entry))) continue;
      if (!labelWidths.has(label.text)) labelWidths.set(label.text, context.measureText(label.text).width);
      const boxWidth = labelWidths.get(label.text) + 14;
      const right = width - LABEL_INSET - boxWidth;
      const bottom = height - LABEL_INSET - LABEL_HEIGHT;
      if (right < LABEL_INSET || bottom < LABEL_INSET) continue;
      const x = toScreenX(label.x / side, pixels);
      const y = toScreenY(worldHeight - label.y / side, pixels);
      if (x < 0 || y < 0 || x > width || y > height) continue; // its category is out of view
      let spot = null;
      for (const [column, row] of shifts) {
        const box = {
          left: Math.min(Math.max(x + column * LABEL_HEIGHT - boxWidth / 2, LABEL_INSET), right),
          top: Math.min(Math.max(y + row * LABEL_HEIGHT - LABEL_HEIGHT / 2, LABEL_INSET), bottom),
          width: boxWidth,
          height: LABEL_HEIGHT,
        };
        if (!overlaps(box)) {
          spot = box;
          break;
        }
      }
      if (spot === null) continue;
      placed.push(spot);
      context.globalAlpha = 0.88;
      context.fillStyle = '#fff';
      context.beginPath();
      roundedRectangle(spot.left, spot.top, spot.width, spot.height, 4);
      context.fill();
      context.globalAlpha = 1;
      context.lineWidth = 1.5;
      context.strokeStyle = label.colour || '#c8c8c8';
      context.stroke();
      context.fillStyle = '#222';
      context.textAlign = 'center';
      context.textBaseline = 'middle';
      context.fillText(label.text, spot.left + spot.width / 2, spot.top + spot.height / 2 + 0.5);
    }
  }

  function roundedRectangle(left, top, boxWidth, boxHeight, corner) {
    context.moveTo(left + corner, top);
    context.arcTo(left + boxWidth, top, left + boxWidth, top + boxHeight, corner);
    context.arcTo(left + boxWidth, top + boxHeight, left, top + boxHeight, corner);
    context.arcTo(left, top + boxHeight, left, top, corner);
    context.arcTo(left, top, left + boxWidth, top, corner);
    context.closePath();
  }

  // ---- Hover: a grid over the world, each cell listing its points ---------------------------

  const GRID_CELLS = Math.max(16, Math.min(512, Math.round(Math.sqrt(count / 2))));
  const cellStart = new Uint32Array(GRID_CELLS * GRID_CELLS + 1);
  const cellPoints = new Uint32Array(count);

  function cellOf(x, y) {
    const column = Math.min(GRID_CELLS - 1, Math.max(0, Math.floor(x * GRID_CELLS)));
    const row = Math.min(GRID_CELLS - 1, Math.max(0, Math.floor(y * GRID_CELLS)));
    return row * GRID_CELLS + column;
  }

  (function buildGrid() {
    const cells = new Uint32Array(count);
    for (let point = 0; point < count; point++) {
      cells[point] = cellOf(worldX[point], worldY[point]);
      cellStart[cells[point] + 1]++;
    }
    for (let cell = 0; cell < GRID_CELLS * GRID_CELLS; cell++) cellStart[cell + 1] += cellStart[cell];
    const filled = cellStart.slice(0, GRID_CELLS * GRID_CELLS);
    for (let point = 0; point < count; point++) cellPoints[filled[cells[point]]++] = point;
  })();

  // The visible point nearest to screen position (x, y) within the hover distance, or -1.
  function nearest(x, y) {
    const pixels = scale();
    const worldPointerX = (x - width / 2) / pixels + state.centreX;
    const worldPointerY = (y - height / 2) / pixels + state.centreY;
    const reach = (HOVER_DISTANCE + radius()) / pixels;
    const cellReach = Math.min(Math.ceil(reach * GRID_CELLS), GRID_CELLS);
    const centre = cellOf(worldPointerX, worldPointerY);
    const centreColumn = centre % GRID_CELLS;
    const centreRow = Math.floor(centre / GRID_CELLS);
    let best = -1;
    let bestDistance = reach * reach;
    for (let row = Math.max(0, centreRow - cellReach); row <= Math.min(GRID_CELLS - 1, centreRow + cellReach); row++) {
      for (let column = Math.max(0, centreColumn - cellReach); column <= Math.min(GRID_CELLS - 1, centreColumn + cellReach); column++) {
        const cell = row * GRID_CELLS + column;
        for (let index = cellStart[cell]; index < cellStart[cell + 1]; index++) {
          const point = cellPoints[index];
          if (current.isOff(point)) continue;
          const dx = worldX[point] - worldPointerX;
          const dy = worldY[point] - worldPointerY;
          const distance = dx * dx + dy * dy;
          // Prefer points the search matches: the others count as a little further away.
          const penalty = state.matches !== null && !state.matches[point] ? 4 : 1;
          if (distance * penalty < bestDistance) {
            bestDistance = distance * penalty;
            best = point;
          }
        }
      }
    }
    return best;
  }

  function showTooltip(point, x, y) {
    tooltip.replaceChildren();
    const id = document.createElement('div');
    id.className = 'id';
    id.textContent = data.ids[point];
    tooltip.append(id);
    data.fields.forEach((field) => {
      const line = document.createElement('div');
      line.className = 'value';
      let value;
      if (field.kind === 'category') {
        const entry = field.entries[field.values[point]];
        const swatch = document.createElement('span');
        swatch.className = 'swatch';
        swatch.style.background = entry.colour;
        line.append(swatch);
        value = entry.name;
      } else {
        value = field.values[point] === null ? '–' : String(field.values[point]);
      }
      line.append(field.name + ': ' + value);
      tooltip.append(line);
    });
    if (data.thumbnails && data.thumbnails[point] !== null) {
      const picture = document.createElement('img');
      picture.className = 'thumbnail';
      picture.alt = data.ids[point];
      // Small pictures (MNIST's 28x28) are enlarged as blocks of pixels rather than blurred.
      picture.onload = () => {
        if (picture.naturalWidth < 64 && picture.naturalHeight < 64) picture.style.imageRendering = 'pixelated';
      };
      picture.src = data.thumbnails[point];
      tooltip.append(picture);
    }
    if (data.texts[point] !== null) {
      const text = document.createElement('div');
      text.className = 'text';
      text.textContent = data.texts[point];
      tooltip.append(text);
    }
    tooltip.hidden = false;
    // Beside the pointer, flipped to stay inside the plot.
    const box = tooltip.getBoundingClientRect();
    const left = x + 16 + box.width > width ? x - 16 - box.width : x + 16;
    const top = y + 16 + box.height > height ? y - 16 - box.height : y + 16;
    tooltip.style.left = Math.max(4, left) + 'px';
    tooltip.style.top = Math.max(4, top) + 'px';
  }

  function hideTooltip() {
    tooltip.hidden = true;
    if (state.hover !== -1) {
      state.hover = -1;
      drawHover();
    }
  }

  // ---- Zoom and pan ------------------------------------------------------------------------

  function pointerPosition(event) {
    const bounds = canvas.getBoundingClientRect();
    return [event.clientX - bounds.left, event.clientY - bounds.top];
  }

  canvas.addEventListener(
    'wheel',
    (event) => {
      event.preventDefault();
      const [x, y] = pointerPosition(event);
      const before = scale();
      const worldPointerX = (x - width / 2) / before + state.centreX;
      const worldPointerY = (y - height / 2) / before + state.centreY;
      const steps = event.deltaMode === 1 ? event.deltaY * 16 : event.deltaY;
      state.zoom = Math.min(Math.max(state.zoom * Math.exp(-steps * 0.0015), 0.5), 500);
      // Keep the world point under the pointer where it is.
      const after = scale();
      state.centreX = worldPointerX - (x - width / 2) / after;
      state.centreY = worldPointerY - (y - height / 2) / after;
      hideTooltip();
      redraw();
    },
    { passive: false },
  );

  let drag = null;

  canvas.addEventListener('pointerdown', (event) => {
    drag = { x: event.clientX, y: event.clientY, centreX: state.centreX, centreY: state.centreY, moved: false };
    canvas.setPointerCapture(event.pointerId);
    canvas.classList.add('dragging');
    hideTooltip();
  });

  canvas.addEventListener('pointermove', (event) => {
    if (drag !== null) {
      if (Math.hypot(event.clientX - drag.x, event.clientY - drag.y) > CLICK_DISTANCE) drag.moved = true;
      const pixels = scale();
      state.centreX = drag.centreX - (event.clientX - drag.x) / pixels;
      state.centreY = drag.centreY - (event.clientY - drag.y) / pixels;
      redraw();
      return;
    }
    const [x, y] = pointerPosition(event);
    const point = nearest(x, y);
    if (point !== state.hover) {
      state.hover = point;
      drawHover();
    }
    if (point >= 0) showTooltip(point, x, y);
    else tooltip.hidden = true;
  });

  const endDrag = () => {
    drag = null;
    canvas.classList.remove('dragging');
  };
  canvas.addEventListener('pointerup', (event) => {
    const clicked = drag !== null && !drag.moved;
    endDrag();
    if (clicked && framed) clickPoint(event);
  });
  canvas.addEventListener('pointercancel', endDrag);
  canvas.addEventListener('pointerleave', () => {
    if (drag === null) hideTooltip();
  });

  function resetView() {
    state.zoom = 1;
    state.centreX = worldWidth / 2;
    state.centreY = worldHeight / 2;
    redraw();
  }

  document.getElementById('reset').addEventListener('click', resetView);
  canvas.addEventListener('dblclick', resetView);

  // ---- Search ------------------------------------------------------------------------------

  function runSearch() {
    const query = search.value.trim().toLowerCase();
    if (query === '') {
      showMatches(null, 0, '');
    } else {
      const matches = new Uint8Array(count);
      let found = 0;
      for (let point = 0; point < count; point++) {
        if (lowerIds[point].includes(query) || lowerTexts[point].includes(query)) {
          matches[point] = 1;
          found++;
        }
      }
      showMatches(matches, found, found.toLocaleString('en') + ' of ' + count.toLocaleString('en') + ' match');
    }
  }

  // Highlights `matches` (a Uint8Array with 1 for each point to highlight, or null for none),
  // `found` points in all, and says so beside the search box with `text`.
  function showMatches(matches, found, text) {
    state.matches = matches;
    state.matchCount = found;
    matchesText.textContent = text;
    redraw();
  }

  let searchTimer = 0;
  search.addEventListener('input', () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(runSearch, count > 50000 ? 150 : 60);
  });
  search.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') {
      search.value = '';
      runSearch();
    }
  });

  // ---- Colour by and legend -----------------------------------------------------------------

  function fillColourBy() {
    if (data.fields.length === 0) {
      document.getElementById('colour-control').hidden = true;
      return;
    }
    data.fields.forEach((field, index) => {
      const option = document.createElement('option');
      option.value = String(index);
      option.textContent = field.name;
      colourBy.append(option);
    });
    colourBy.value = String(state.field);
    colourBy.addEventListener('change', () => {
      state.field = Number(colourBy.value);
      current = colouring();
      drawLegend();
      redraw();
    });
  }

  function drawLegend() {
    legend.replaceChildren();
    const field = data.fields[state.field];
    if (!field || !data.showLegend) {
      legend.hidden = true;
      return;
    }
    legend.hidden = false;
    const heading = document.createElement('h2');
    heading.textContent = field.name;
    legend.append(heading);
    if (field.kind === 'category') {
      const hint = document.createElement('p');
      hint.className = 'hint';
      hint.textContent = 'Click an entry to hide or show it.';
      legend.append(hint);
      const hidden = state.hidden[state.field];
      field.entries.forEach((entry, index) => {
        const row = legendEntry(entry);
        row.classList.toggle('off', hidden.has(index));
        row.title = hidden.has(index) ? 'Show these points' : 'Hide these points';
        row.addEventListener('click', () => {
          if (hidden.has(index)) hidden.delete(index);
          else hidden.add(index);
          drawLegend();
          hideTooltip();
          redraw();
        });
        legend.append(row);
      });
      if (hidden.size > 0) {
        const showAll = document.createElement('button');
        showAll.type = 'button';
        showAll.className = 'show-all';
        showAll.textContent = 'Show all';
        showAll.addEventListener('click', () => {
          hidden.clear();
          drawLegend();
          redraw();
        });
        legend.append(showAll);
      }
    } else {
      const scaleBox = document.createElement('div');
      scaleBox.className = 'scale';
      const bar = document.createElement('div');
      bar.className = 'bar';
      bar.style.background = 'linear-gradient(to top, ' + data.scale.join(', ') + ')';
      const ticks = document.createElement('div');
      ticks.className = 'ticks';
      for (const [fraction, text] of field.ticks) {
        const tick = document.createElement('div');
        tick.className = 'tick';
        tick.style.top = (1 - fraction) * 100 + '%';
        tick.textContent = text;
        ticks.append(tick);
      }
      scaleBox.append(bar, ticks);
      legend.append(scaleBox);
      if (field.missing !== null) legend.append(legendEntry(field.missing));
    }
  }

  function legendEntry(entry) {
    const row = document.createElement('button');
    row.type = 'button';
    row.className = 'entry';
    const swatch = document.createElement('span');
    swatch.className = 'swatch';
    swatch.style.background = entry.colour;
    const name = document.createElement('span');
    name.className = 'name';
    name.textContent = entry.name;
    name.title = entry.name;
    const entryCount = document.createElement('span');
    entryCount.className = 'count';
    entryCount.textContent = entry.count.toLocaleString('en');
    row.append(swatch, name, entryCount);
    return row;
  }

  // ---- In a frame --------------------------------------------------------------------------

  // emb serve's page shows the map in a frame beside its search results. The map tells it which
  // point was clicked and when it is drawn; the page tells the map which points to highlight
  // (its results, drawn like the search's matches) and which to centre on. Messages carry ids,
  // never indexes, so that the page needs no knowledge of the map's data.
  const framed = window.parent !== window;
  let announced = false; // whether the first drawing has been reported
  let pointOfId = null; // id to point, built at the first message that needs it

  function tellParent(message) {
    // The page may serve the map from a sandboxed frame, whose origin is opaque: hence '*'.
    // Messages hold only ids the page already has.
    if (framed) window.parent.postMessage(message, '*');
  }

  // Reports the first drawing: to the page around the map, and on the body for tests to read.
  function announce(drawn) {
    announced = true;
    document.body.dataset.points = String(drawn);
    tellParent({ type: 'emb-map-ready', points: drawn });
  }

  function pointOf(id) {
    if (pointOfId === null) pointOfId = new Map(data.ids.map((pointId, point) => [pointId, point]));
    const point = pointOfId.get(id);
    return point === undefined ? -1 : point;
  }

  function clickPoint(event) {
    const [x, y] = pointerPosition(event);
    const point = nearest(x, y);
    if (point < 0) return;
    state.marked = point;
    redraw();
    tellParent({ type: 'emb-map-click', id: data.ids[point] });
  }

  // Highlights exactly the points of `ids` (ids not on the map are skipped); none clears. It
  // replaces any search typed in the map, so the search box is emptied.
  function highlight(ids) {
    clearTimeout(searchTimer);
    search.value = '';
    if (ids.length === 0) {
      showMatches(null, 0, '');
      return;
    }
    const matches = new Uint8Array(count);
    let found = 0;
    for (const id of ids) {
      const point = pointOf(id);
      if (point >= 0 && !matches[point]) {
        matches[point] = 1;
        found++;
      }
    }
    showMatches(matches, found, found.toLocaleString('en') + ' highlighted');
  }

  // Centres the view on the point of `id`, zoomed in at least FOCUS_ZOOM, and marks it; a null
  // or unknown id removes the mark and leaves the view.
  function focus(id) {
    const point = id === null ? -1 : pointOf(id);
    state.marked = point;
    if (point >= 0) {
      state.zoom = Math.max(state.zoom, FOCUS_ZOOM);
      state.centreX = worldX[point];
      state.centreY = worldY[point];
    }
    redraw();
  }

  if (framed) {
    window.addEventListener('message', (event) => {
      const message = event.data;
      if (event.source !== window.parent || message === null || typeof message !== 'object') return;
      if (message.type === 'emb-map-highlight' && Array.isArray(message.ids)) {
        highlight(message.ids.filter((id) => typeof id === 'string'));
      } else if (message.type === 'emb-map-focus') {
        focus(typeof message.id === 'string' ? message.id : null);
      }
    });
  }

  // ---- Size --------------------------------------------------------------------------------

  function resize() {
    const bounds = plot.getBoundingClientRect();
    width = Math.max(bounds.width, 1);
    height = Math.max(bounds.height, 1);
    ratio = count > SHARP_POINTS ? 1 : window.devicePixelRatio || 1;
    canvas.width = overlay.width = Math.round(width * ratio);
    canvas.height = overlay.height = Math.round(height * ratio);
    draw();
  }

  // In a frame the page around the map names it already.
  if (data.title === null || framed) document.getElementById('title').hidden = true;
  fillColourBy();
  drawLegend();
  new ResizeObserver(resize).observe(plot);
  resize();
})();
