"""What the map page shows, read from its pixels; shared by the browser tests."""

# The map as a user sees it: the points' layer (when WebGL draws them) under the canvas, both
# drawn onto white. Takes [columns, rows]; returns the count of pixels that are not white and a
# grid of how much ink (darkness) each cell holds, row by row.
INK = """([columns, rows]) => {
  const canvas = document.getElementById('canvas');
  const scratch = document.createElement('canvas');
  scratch.width = canvas.width;
  scratch.height = canvas.height;
  const context = scratch.getContext('2d');
  context.fillStyle = '#fff';
  context.fillRect(0, 0, scratch.width, scratch.height);
  const points = document.getElementById('points');
  if (!points.hidden) context.drawImage(points, 0, 0);
  context.drawImage(canvas, 0, 0);
  const pixels = context.getImageData(0, 0, scratch.width, scratch.height).data;
  const grid = new Array(columns * rows).fill(0);
  let coloured = 0;
  for (let y = 0; y < scratch.height; y++) {
    const row = Math.min(rows - 1, Math.floor((y * rows) / scratch.height));
    for (let x = 0; x < scratch.width; x++) {
      const offset = (y * scratch.width + x) * 4;
      const ink = 765 - pixels[offset] - pixels[offset + 1] - pixels[offset + 2];
      if (ink > 15) coloured++;
      grid[row * columns + Math.min(columns - 1, Math.floor((x * columns) / scratch.width))] += ink;
    }
  }
  return { coloured, grid };
}"""
