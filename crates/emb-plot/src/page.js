// The interactive map: draws the points (with WebGL, or into a canvas's pixels without it),
// zooms with the wheel and pans by dragging, shows the nearest point on hover, highlights the
// points a search matches, recolours by the chosen field, and toggles categories from the legend.
// The data comes from the JSON element "map-data" written by emb-plot's html.rs, whose comments
// describe its fields. Inside a frame (emb serve's page) it also talks to the page around it: see
// "In a frame" below.
(function () {
  'use strict';

  const data = JSON.parse(document.getElementById('map-data').textContent);
  const count = data.ids.length;

  // Elements.
  const plot = document.getElementById('plot');
  const pointsCanvas = document.getElementById('points'); // the points, when WebGL draws them
  const canvas = document.getElementById('canvas'); // the points otherwise; rings, labels, the mark
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
  // Without WebGL, above this many points the canvas keeps one pixel per CSS pixel even on
  // high-density screens: blending every point costs in proportion to the pixels it covers, and
  // at twice the density a whole map of 100,000 points takes four times as long (about 80 ms a
  // frame instead of 25 measured in headless Chromium).
  const SHARP_POINTS = 20000;
  const MATCHED_ALPHA = 0.9; // the least opacity of points the search matches
  const RING_COLOUR = [0, 0, 0, 0.7]; // the thin ring around each match
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

  // Points are drawn by one of two renderers with the same look, each point a disc blended over
  // what lies beneath, background entries first:
  // - WebGL, on the canvas "points" beneath the others, which draws a frame in a few calls: the
  //   points' positions and colours go to the GPU only when the colouring, the legend or the
  //   search changes, and a frame sends only the view.
  // - Without WebGL, discs blended straight into the pixels of the canvas "canvas", which is
  //   faster than a canvas call per point wherever the canvas is not on a GPU.
  // Each renderer also rings the search's matches. Labels and the mark go on "canvas" above the
  // points in both cases, and the hovered point on "overlay".
  const VERTEX_SHADER = `
    attribute vec2 position; // in world units
    attribute vec3 colour;
    uniform vec2 centre; // the world position at the centre of the drawing area
    uniform float scale; // device pixels per world unit
    uniform vec2 area; // the drawing area in device pixels, margins included
    uniform mediump float size; // the side of each point's square in device pixels (mediump as in the fragment shader)
    varying vec3 pointColour;
    void main() {
      vec2 pixel = (position - centre) * scale + 0.5 * area;
      gl_Position = vec4(2.0 * pixel.x / area.x - 1.0, 1.0 - 2.0 * pixel.y / area.y, 0.0, 1.0);
      gl_PointSize = size;
      pointColour = colour;
    }`;

  // A disc of the point's colour with `alpha`, or, when ringWidth is above 0, a ring of
  // ringColour; either with an edge a pixel wide blended by how much of each pixel it covers.
  const FRAGMENT_SHADER = `
    precision mediump float;
    uniform float size;
    uniform float radius; // of the disc, or of the ring's middle line, in device pixels
    uniform float ringWidth;
    uniform vec4 ringColour;
    uniform float alpha;
    varying vec3 pointColour;
    void main() {
      float fromCentre = length(gl_PointCoord - 0.5) * size;
      if (ringWidth > 0.0) {
        float cover = clamp(0.5 * ringWidth + 0.5 - abs(fromCentre - radius), 0.0, 1.0);
        if (cover <= 0.0) discard;
        gl_FragColor = vec4(ringColour.rgb, ringColour.a * cover);
      } else {
        float cover = clamp(radius + 0.5 - fromCentre, 0.0, 1.0);
        if (cover <= 0.0) discard;
        gl_FragColor = vec4(pointColour, alpha * cover);
      }
    }`;

  // The WebGL renderer: { upload, draw }, or null when WebGL is missing, runs on the CPU, or its
  // program does not build. On the CPU (SwiftShader, llvmpipe: a browser without a usable GPU)
  // WebGL is slower than the canvas renderer: 25-46 frames a second against 57-60 for 100,000
  // points in headless Chromium (bench/map/frames.py). A page told which renderer to use before
  // it loads (window.embMapRenderer = 'webgl' or 'canvas') uses it wherever it can: how the
  // benchmark and the tests compare the two.
  function startGpu() {
    const wanted = window.embMapRenderer;
    if (wanted === 'canvas') return null;
    const gl = pointsCanvas.getContext('webgl', {
      alpha: false,
      antialias: false,
      depth: false,
      premultipliedAlpha: false,
      // Kept after the frame, so that the map can be read back (screenshots, the tests' pixel count).
      preserveDrawingBuffer: true,
    });
    if (gl === null) return null;
    if (wanted !== 'webgl' && onTheCpu(gl)) {
      const loser = gl.getExtension('WEBGL_lose_context');
      if (loser !== null) loser.loseContext(); // frees it at once
      return null;
    }
    const program = linkProgram(gl);
    if (program === null) return null;
    const uniform = (name) => gl.getUniformLocation(program, name);
    const at = {
      centre: uniform('centre'),
      scale: uniform('scale'),
      area: uniform('area'),
      size: uniform('size'),
      radius: uniform('radius'),
      ringWidth: uniform('ringWidth'),
      ringColour: uniform('ringColour'),
      alpha: uniform('alpha'),
    };
    const buffer = gl.createBuffer();
    gl.useProgram(program);
    gl.bindBuffer(gl.ARRAY_BUFFER, buffer);
    // Each point is 12 bytes: x and y as floats, then its colour's red, green and blue bytes.
    const position = gl.getAttribLocation(program, 'position');
    const colour = gl.getAttribLocation(program, 'colour');
    gl.enableVertexAttribArray(position);
    gl.vertexAttribPointer(position, 2, gl.FLOAT, false, 12, 0);
    gl.enableVertexAttribArray(colour);
    gl.vertexAttribPointer(colour, 3, gl.UNSIGNED_BYTE, true, 12, 8);
    gl.enable(gl.BLEND);
    gl.blendFuncSeparate(gl.SRC_ALPHA, gl.ONE_MINUS_SRC_ALPHA, gl.ONE, gl.ONE_MINUS_SRC_ALPHA);
    gl.clearColor(1, 1, 1, 1);
    const maximumSize = gl.getParameter(gl.ALIASED_POINT_SIZE_RANGE)[1];
    let dimmed = 0; // the points the search does not match (all, without a search) come first
    let uploaded = 0;

    // Sends the visible points in drawing order: those the search does not match, then those it
    // matches, each group background entries first.
    function upload() {
      const colours = current.colours.map(parseHex);
      const matches = state.matches;
      const floats = new Float32Array(count * 3);
      const bytes = new Uint8Array(floats.buffer);
      let filled = 0;
      const add = (wanted) => {
        for (let index = 0; index < count; index++) {
          const point = current.order[index];
          if (current.isOff(point) || !wanted(point)) continue;
          floats[filled * 3] = worldX[point];
          floats[filled * 3 + 1] = worldY[point];
          bytes.set(colours[current.ofPoint[point]], filled * 12 + 8);
          filled++;
        }
      };
      add((point) => matches === null || !matches[point]);
      dimmed = filled;
      if (matches !== null) add((point) => matches[point] === 1);
      uploaded = filled;
      gl.bufferData(gl.ARRAY_BUFFER, floats.subarray(0, filled * 3), gl.STATIC_DRAW);
    }

    function draw(pixels, pointRadius) {
      const discRadius = pointRadius * ratio;
      const ringRadius = (pointRadius + 1) * ratio; // as the canvas draws it: 1 pixel outside
      const ringWidth = ratio;
      const discSize = Math.min(Math.ceil(2 * discRadius + 2), maximumSize);
      const ringSize = Math.min(Math.ceil(2 * ringRadius + ringWidth + 2), maximumSize);
      // A point is drawn only when its centre lies in the drawing area, so the area reaches past
      // the canvas by half a point's square: points at the edges are cut, not dropped.
      const margin = Math.ceil(Math.max(discSize, ringSize) / 2);
      const areaWidth = canvas.width + 2 * margin;
      const areaHeight = canvas.height + 2 * margin;
      gl.viewport(-margin, -margin, areaWidth, areaHeight);
      gl.clear(gl.COLOR_BUFFER_BIT);
      gl.uniform2f(at.centre, state.centreX, state.centreY);
      gl.uniform1f(at.scale, pixels * ratio);
      gl.uniform2f(at.area, areaWidth, areaHeight);
      const discs = (first, points, alpha) => {
        gl.uniform1f(at.size, discSize);
        gl.uniform1f(at.radius, discRadius);
        gl.uniform1f(at.ringWidth, 0);
        gl.uniform1f(at.alpha, alpha);
        gl.drawArrays(gl.POINTS, first, points);
      };
      if (state.matches === null) {
        discs(0, uploaded, opacity());
        return;
      }
      discs(0, dimmed, DIMMED_ALPHA);
      discs(dimmed, uploaded - dimmed, Math.max(opacity(), MATCHED_ALPHA));
      gl.uniform1f(at.size, ringSize);
      gl.uniform1f(at.radius, ringRadius);
      gl.uniform1f(at.ringWidth, ringWidth);
      gl.uniform4fv(at.ringColour, RING_COLOUR);
      gl.drawArrays(gl.POINTS, dimmed, uploaded - dimmed);
    }

    // A lost context (the GPU reset, or the browser reclaimed it) hands the map to the canvas.
    pointsCanvas.addEventListener('webglcontextlost', (event) => {
      event.preventDefault();
      gpu = null;
      pointsCanvas.hidden = true;
      document.body.dataset.renderer = 'canvas';
      resize();
    });
    return { upload, draw };
  }

  // Whether the WebGL context `gl` is drawn by a software renderer.
  function onTheCpu(gl) {
    const debug = gl.getExtension('WEBGL_debug_renderer_info');
    const renderer = String(gl.getParameter(debug === null ? gl.RENDERER : debug.UNMASKED_RENDERER_WEBGL));
    return /swiftshader|llvmpipe|softpipe|software|basic render/i.test(renderer);
  }

  function linkProgram(gl) {
    const compile = (kind, source) => {
      const shader = gl.createShader(kind);
      gl.shaderSource(shader, source);
      gl.compileShader(shader);
      if (gl.getShaderParameter(shader, gl.COMPILE_STATUS)) return shader;
      console.warn('The map draws without WebGL: a shader did not compile: ' + gl.getShaderInfoLog(shader));
      return null;
    };
    const vertex = compile(gl.VERTEX_SHADER, VERTEX_SHADER);
    const fragment = compile(gl.FRAGMENT_SHADER, FRAGMENT_SHADER);
    if (vertex === null || fragment === null) return null;
    const program = gl.createProgram();
    gl.attachShader(program, vertex);
    gl.attachShader(program, fragment);
    gl.linkProgram(program);
    if (gl.getProgramParameter(program, gl.LINK_STATUS)) return program;
    console.warn('The map draws without WebGL: its program did not link: ' + gl.getProgramInfoLog(program));
    return null;
  }

  let gpu = startGpu(); // null without WebGL
  let pointsChanged = true; // whether the GPU's copy of the points is out of date

  // The points drawn on the canvas when WebGL is missing.
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

  // Blends the points that `wanted` accepts into the image, each with opacity `pointAlpha`.
  function blendPoints(pixels, colours, wanted, pointAlpha) {
    const imageWidth = image.width;
    const imageHeight = image.height;
    const bytes = image.data;
    const { size, half, coverage } = mask;
    for (let index = 0; index < count; index++) {
      const point = current.order[index];
      if (current.isOff(point) || !wanted(point)) continue;
      const left = Math.round(toScreenX(worldX[point], pixels) * ratio) - half;
      const top = Math.round(toScreenY(worldY[point], pixels) * ratio) - half;
      if (left + size <= 0 || top + size <= 0 || left >= imageWidth || top >= imageHeight) continue;
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

  // Redraws after the points' colours, the legend or the search changed what is drawn.
  function redrawPoints() {
    pointsChanged = true;
    redraw();
  }

  function draw() {
    const pixels = scale();
    const pointRadius = radius();
    if (gpu !== null) {
      if (pointsChanged) gpu.upload();
      pointsChanged = false;
      gpu.draw(pixels, pointRadius);
      context.setTransform(1, 0, 0, 1, 0, 0);
      context.clearRect(0, 0, canvas.width, canvas.height);
      context.setTransform(ratio, 0, 0, ratio, 0, 0);
    } else {
      drawOnCanvas(pixels, pointRadius);
    }
    if (data.showLabels) drawLabels(pixels);
    if (state.marked >= 0) drawMark(pixels, pointRadius);
    drawHover();
    if (!announced) announce(onScreen(pixels));
  }

  function drawOnCanvas(pixels, pointRadius) {
    if (image === null || image.width !== canvas.width || image.height !== canvas.height) {
      image = context.createImageData(canvas.width, canvas.height);
    }
    new Uint32Array(image.data.buffer).fill(0xffffffff); // opaque white
    discMask(pointRadius * ratio);
    const colours = current.colours.map(parseHex);
    const alpha = opacity();
    const matches = state.matches;
    if (matches === null) {
      blendPoints(pixels, colours, () => true, alpha);
    } else {
      blendPoints(pixels, colours, (point) => !matches[point], DIMMED_ALPHA);
      blendPoints(pixels, colours, (point) => matches[point] === 1, Math.max(alpha, MATCHED_ALPHA));
    }
    context.putImageData(image, 0, 0);
    context.setTransform(ratio, 0, 0, ratio, 0, 0);
    if (matches !== null) {
      context.strokeStyle = 'rgba(' + RING_COLOUR.map((part, index) => (index < 3 ? part * 255 : part)).join(', ') + ')';
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
  }

  // How many shown points have their centre on the canvas.
  function onScreen(pixels) {
    let shown = 0;
    for (let point = 0; point < count; point++) {
      if (current.isOff(point)) continue;
      const x = toScreenX(worldX[point], pixels);
      const y = toScreenY(worldY[point], pixels);
      if (x >= 0 && y >= 0 && x <= width && y <= height) shown++;
    }
    return shown;
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
    redrawPoints();
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
      redrawPoints();
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
          redrawPoints();
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
          redrawPoints();
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
    ratio = gpu === null && count > SHARP_POINTS ? 1 : window.devicePixelRatio || 1;
    canvas.width = overlay.width = pointsCanvas.width = Math.round(width * ratio);
    canvas.height = overlay.height = pointsCanvas.height = Math.round(height * ratio);
    draw();
  }

  // In a frame the page around the map names it already.
  if (data.title === null || framed) document.getElementById('title').hidden = true;
  pointsCanvas.hidden = gpu === null;
  document.body.dataset.renderer = gpu === null ? 'canvas' : 'webgl';
  fillColourBy();
  drawLegend();
  new ResizeObserver(resize).observe(plot);
  resize();
})();
