"""One self-contained HTML page that plays a clip: 2D input skeleton beside a rotatable 3D skeleton.

No network and no libraries: the pose data are embedded as JSON in a `<script type=
"application/json">` block and drawn on two `<canvas>` elements by a small inline script (play /
pause, frame slider, frame counter; drag the 3D view to orbit it, double-click to reset).

Frames and units
- poses_2d: (T, 17, 2) image coordinates (pixels or normalised), x right, y DOWN.
- poses_3d: (T, 17, 3) camera frame, X right, Y down, Z forward, millimetres or model units.
  The 3D view keeps Y down on screen, so the person stands upright; the orbit starts slightly to
  the side of and above the original camera.

For tests and automation, the element `#status` reads "ready: N frames" once the data are parsed
and the first frame is drawn (or "error: ..." if drawing failed).
"""

from __future__ import annotations

import base64
import html as html_lib
import json
import math
import re
from pathlib import Path
from typing import Any

import numpy as np

from ..data.skeleton import JOINT_NAMES, LEFT_JOINTS, NUM_JOINTS, PARENTS, RIGHT_JOINTS
from ..errors import AmbiposeError
from ..io import atomic_write_text

DATA_ELEMENT_ID = "pose-data"


def check_clip(poses_2d: np.ndarray, poses_3d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Validate shapes (T, 17, 2) and (T, 17, 3) with the same T >= 1; returns float64 copies."""
    p2 = np.asarray(poses_2d, dtype=np.float64)
    p3 = np.asarray(poses_3d, dtype=np.float64)
    if p2.ndim != 3 or p2.shape[1:] != (NUM_JOINTS, 2):
        raise AmbiposeError(f"poses_2d: expected shape (T, {NUM_JOINTS}, 2), got {p2.shape}")
    if p3.ndim != 3 or p3.shape[1:] != (NUM_JOINTS, 3):
        raise AmbiposeError(f"poses_3d: expected shape (T, {NUM_JOINTS}, 3), got {p3.shape}")
    if len(p2) != len(p3):
        raise AmbiposeError(f"poses_2d has {len(p2)} frames but poses_3d has {len(p3)}")
    if len(p2) == 0:
        raise AmbiposeError("the clip has no frames")
    return p2, p3


def _decimals(arr: np.ndarray) -> int:
    """Decimals that keep ~1/1000 of the data's extent: 1 for pixels or mm, more for normalised data."""
    finite = arr[np.isfinite(arr)]
    extent = float(finite.max() - finite.min()) if finite.size else 0.0
    if extent <= 0:
        return 1
    return int(min(6, max(1, math.ceil(-math.log10(extent / 1000.0)))))


def _to_json_list(arr: np.ndarray) -> list:
    """Round (adaptive, >= 1 decimal) and convert to nested lists; NaN / inf become null."""
    a = np.round(arr, _decimals(arr))
    if np.isfinite(a).all():
        return a.tolist()
    return np.where(np.isfinite(a), a, None).tolist()


def embed_json(obj: Any) -> str:
    """JSON text safe inside a `<script>` element: every `<` is written as `\\u003c`.

    This escapes `</script>` (and `<!--`) in any string while leaving the JSON value unchanged.
    """
    text = json.dumps(obj, separators=(",", ":"), allow_nan=False, default=str)
    return text.replace("<", "\\u003c")


def build_html(
    poses_2d: np.ndarray,
    poses_3d: np.ndarray,
    fps: float = 25,
    title: str = "ambipose",
    image_size: tuple[int, int] | None = None,
    meta: dict | None = None,
    images: list[bytes | None] | None = None,
    world_path: np.ndarray | None = None,
) -> str:
    """The page's text (see `save_html`)."""
    p2, p3 = check_clip(poses_2d, poses_3d)
    if images is not None:
        if len(images) != len(p2):
            raise AmbiposeError(f"{len(images)} images for {len(p2)} frames")
        if image_size is None:
            raise AmbiposeError("video frames need the image size")
    side = ["L" if j in LEFT_JOINTS else "R" if j in RIGHT_JOINTS else "C" for j in range(len(PARENTS))]
    data = {
        "title": str(title),
        "fps": float(fps),
        "frames": int(len(p2)),
        "image_size": [int(image_size[0]), int(image_size[1])] if image_size is not None else None,
        "parents": list(PARENTS),
        "side": side,
        "joint_names": list(JOINT_NAMES),
        "meta": meta or {},
        "poses_2d": _to_json_list(p2),
        "poses_3d": _to_json_list(p3),
        "images": None if images is None else [
            None if im is None else "data:image/jpeg;base64," + base64.b64encode(im).decode("ascii") for im in images],
        # World-frame view: the poses are world_display(...) coordinates, the floor is y = 0 and
        # the root's path (T, 3) is drawn on it.
        "world_path": None if world_path is None else _to_json_list(np.asarray(world_path, dtype=np.float64)),
    }
    fields = {"TITLE": html_lib.escape(str(title)), "DATA_ID": DATA_ELEMENT_ID, "DATA": embed_json(data)}
    # One pass, so text inside the title or the data is never itself treated as a placeholder.
    return re.sub(r"%%([A-Z_]+)%%", lambda m: fields[m.group(1)], _TEMPLATE)


def save_html(
    poses_2d: np.ndarray,
    poses_3d: np.ndarray,
    out_path: str | Path,
    fps: float = 25,
    title: str = "ambipose",
    image_size: tuple[int, int] | None = None,
    meta: dict | None = None,
    images: list[bytes | None] | None = None,
    world_path: np.ndarray | None = None,
) -> Path:
    """Write one self-contained HTML viewer for a clip, atomically; returns the path.

    Args:
        poses_2d: (T, 17, 2) input keypoints, image coordinates (pixels or normalised), y down.
        poses_3d: (T, 17, 3) camera-frame poses (X right, Y down, Z forward), mm or model units.
        out_path: destination `.html` file.
        fps: playback rate, Hz.
        title: page title (also `document.title`).
        image_size: (width, height) in pixels; when given the 2D view shows the image rectangle.
        meta: small JSON-serialisable dict shown under the player (e.g. model, sequence, MPJPE);
            values that are not JSON types are written as strings.
        images: optional JPEG bytes per frame (None for a frame without one), drawn under the 2D
            skeleton scaled to `image_size` (needed then): the video the keypoints came from.
        world_path: (T, 3) the root's path for a world-frame view: then `poses_3d` are world-frame
            poses in display axes (`world_display`), the floor grid is drawn at y = 0 (the floor)
            around the whole path, and the path is drawn on it.

    Coordinates are rounded to ~1/1000 of the data's extent (1 decimal for pixels or mm) to keep
    the file small; NaN joints are stored as null and not drawn.
    """
    out_path = Path(out_path)
    atomic_write_text(out_path, build_html(poses_2d, poses_3d, fps, title, image_size, meta, images, world_path))
    return out_path


def world_display(world: np.ndarray) -> np.ndarray:
    """World-frame points (..., 3) (Y up, Z towards the camera; `world.to_world`) -> the viewer's
    display axes (Y down, Z away, as the camera frame): a rotation by half a turn about X."""
    return np.asarray(world) * np.array([1.0, -1.0, -1.0], dtype=np.float32)


def extract_data(page: str) -> dict:
    """Parse the embedded JSON back out of a page written by `save_html` (for tests and tools)."""
    start_tag = f'<script id="{DATA_ELEMENT_ID}" type="application/json">'
    i = page.index(start_tag) + len(start_tag)
    j = page.index("</script>", i)
    return json.loads(page[i:j])


_TEMPLATE = r"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>%%TITLE%%</title>
<style>
  body { font: 13px/1.35 system-ui, sans-serif; margin: 8px; color: #222; background: #f4f4f4; }
  h1 { font-size: 16px; margin: 0 0 6px 0; }
  #views { display: flex; flex-wrap: wrap; gap: 12px; }
  figure { margin: 0; }
  figcaption { font-size: 12px; color: #555; }
  canvas { display: block; background: #fff; border: 1px solid #ccc; }
  #c3d { cursor: grab; touch-action: none; }
  #controls { display: flex; align-items: center; gap: 10px; margin-top: 6px; }
  #slider { width: 420px; }
  #counter { font-variant-numeric: tabular-nums; min-width: 9em; }
  #status { color: #777; }
  #meta { margin: 6px 0 0 0; font-size: 12px; color: #444; }
  #meta span { margin-right: 14px; }
</style>
</head>
<body>
<h1 id="title">%%TITLE%%</h1>
<div id="views">
  <figure><figcaption>2D input (image coordinates)</figcaption>
    <canvas id="c2d" width="420" height="360"></canvas></figure>
  <figure><figcaption><span id="frame3d">3D (camera frame)</span> &mdash; drag to rotate, double-click to reset</figcaption>
    <canvas id="c3d" width="420" height="360"></canvas></figure>
</div>
<div id="controls">
  <button id="play" type="button">Pause</button>
  <input id="slider" type="range" min="0" max="0" value="0" step="1">
  <span id="counter"></span>
  <span id="status">loading</span>
</div>
<div id="meta"></div>
<script id="%%DATA_ID%%" type="application/json">%%DATA%%</script>
<script>
(function () {
  "use strict";
  var statusEl = document.getElementById("status");
  try {
    var D = JSON.parse(document.getElementById("%%DATA_ID%%").textContent);
    document.title = D.title;
    document.getElementById("title").textContent = D.title;
    var T = D.frames, P2 = D.poses_2d, P3 = D.poses_3d, PAR = D.parents, SIDE = D.side;
    var COL = { L: "#1f5fd6", R: "#d62728", C: "#333333" };

    var metaEl = document.getElementById("meta");
    Object.keys(D.meta).forEach(function (k) {
      var s = document.createElement("span");
      var v = D.meta[k];
      s.textContent = k + ": " + (typeof v === "object" ? JSON.stringify(v) : String(v));
      metaEl.appendChild(s);
    });

    // Canvas at device resolution, drawn in CSS pixels.
    function setup(c) {
      var dpr = window.devicePixelRatio || 1, w = c.width, h = c.height;
      c.style.width = w + "px"; c.style.height = h + "px";
      c.width = Math.round(w * dpr); c.height = Math.round(h * dpr);
      var ctx = c.getContext("2d");
      ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
      return { c: c, ctx: ctx, w: w, h: h };
    }
    var V2 = setup(document.getElementById("c2d"));
    var V3 = setup(document.getElementById("c3d"));
    function ok(p) { return p !== null && p[0] !== null && p[1] !== null && (p.length < 3 || p[2] !== null); }

    // ---- 2D view: fixed fit over the clip (or the whole image), y down as in the image. ----
    var bx0 = Infinity, by0 = Infinity, bx1 = -Infinity, by1 = -Infinity;
    if (D.image_size) { bx0 = 0; by0 = 0; bx1 = D.image_size[0]; by1 = D.image_size[1]; }
    else {
      P2.forEach(function (f) { f.forEach(function (p) { if (ok(p)) {
        bx0 = Math.min(bx0, p[0]); bx1 = Math.max(bx1, p[0]); by0 = Math.min(by0, p[1]); by1 = Math.max(by1, p[1]); } }); });
      if (!isFinite(bx0)) { bx0 = -1; bx1 = 1; by0 = -1; by1 = 1; }
      var mx = 0.08 * Math.max(bx1 - bx0, by1 - by0, 1e-6);
      bx0 -= mx; bx1 += mx; by0 -= mx; by1 += mx;
    }
    var s2 = Math.min((V2.w - 16) / Math.max(bx1 - bx0, 1e-9), (V2.h - 16) / Math.max(by1 - by0, 1e-9));
    var ox2 = (V2.w - s2 * (bx1 - bx0)) / 2, oy2 = (V2.h - s2 * (by1 - by0)) / 2;
    function to2(p) { return [ox2 + s2 * (p[0] - bx0), oy2 + s2 * (p[1] - by0)]; }

    // Joints absent from the whole 2D track and inferred in 3D (meta.inferred_joints): not drawn
    // in 2D (their input is a placeholder), dashed grey bones and hollow points in 3D.
    var INFERRED = ((D.meta || {}).inferred_joints || []);
    var INF = D.joint_names.map(function (n) { return INFERRED.indexOf(n) >= 0; });
    function drawBones(ctx, pts, order) {
      ctx.lineWidth = 3; ctx.lineCap = "round";
      order.forEach(function (j) {
        var k = PAR[j];
        if (k < 0 || !pts[j] || !pts[k]) return;
        var inferred = INF[j] || INF[k];
        ctx.strokeStyle = inferred ? "#9a9a9a" : COL[SIDE[j]];
        ctx.setLineDash(inferred ? [5, 4] : []);
        ctx.beginPath(); ctx.moveTo(pts[k][0], pts[k][1]); ctx.lineTo(pts[j][0], pts[j][1]); ctx.stroke();
      });
      ctx.setLineDash([]);
      ctx.fillStyle = "#111"; ctx.strokeStyle = "#111"; ctx.lineWidth = 1.2;
      pts.forEach(function (q, j) { if (q) { ctx.beginPath(); ctx.arc(q[0], q[1], 2.5, 0, 2 * Math.PI);
        if (INF[j]) ctx.stroke(); else ctx.fill(); } });
    }
    var ALL = PAR.map(function (_, j) { return j; });

    // Video frames (when the input was a video): JPEG data URLs drawn under the 2D skeleton.
    var IMG = (D.images || []).map(function (u, t) {
      if (!u) return null;
      var im = new Image();
      im.onload = function () { if (t === frame) draw2d(t); };
      im.src = u;
      return im;
    });
    function draw2d(t) {
      var ctx = V2.ctx;
      ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, V2.w, V2.h);
      if (D.image_size) {
        var a = to2([0, 0]), b = to2(D.image_size);
        var im = IMG[t];
        if (im && im.complete && im.naturalWidth) ctx.drawImage(im, a[0], a[1], b[0] - a[0], b[1] - a[1]);
        ctx.strokeStyle = "#bbb"; ctx.lineWidth = 1; ctx.strokeRect(a[0], a[1], b[0] - a[0], b[1] - a[1]);
      }
      drawBones(ctx, P2[t].map(function (p, j) { return ok(p) && !INF[j] ? to2(p) : null; }), ALL);
    }

    // ---- 3D view: orbit (yaw about the vertical Y axis, then pitch) + perspective. ----
    var lo = [Infinity, Infinity, Infinity], hi = [-Infinity, -Infinity, -Infinity];
    P3.forEach(function (f) { f.forEach(function (p) { if (ok(p)) for (var i = 0; i < 3; i++) {
      lo[i] = Math.min(lo[i], p[i]); hi[i] = Math.max(hi[i], p[i]); } }); });
    if (!isFinite(lo[0])) { lo = [-1, -1, -1]; hi = [1, 1, 1]; }
    var C3 = [0, 1, 2].map(function (i) { return (lo[i] + hi[i]) / 2; });
    var R3 = Math.max(0.5 * Math.max(hi[0] - lo[0], hi[1] - lo[1], hi[2] - lo[2]), 1e-6);
    var WP = D.world_path;  // world-frame view: the floor is y = 0, the root's path is drawn on it
    var floorY = WP ? 0 : hi[1];  // Y is down: the lowest point (feet) has the largest Y
    if (WP) document.getElementById("frame3d").textContent = "3D (upright, on the floor)";
    var YAW0 = -0.6, PITCH0 = 0.35, yaw = YAW0, pitch = PITCH0;
    var DIST = 4 * R3, FOC = 0.36 * Math.min(V3.w, V3.h) * DIST / R3;

    function view(p) {
      var x = p[0] - C3[0], y = p[1] - C3[1], z = p[2] - C3[2];
      var cy = Math.cos(yaw), sy = Math.sin(yaw), cp = Math.cos(pitch), sp = Math.sin(pitch);
      var x1 = cy * x - sy * z, z1 = sy * x + cy * z;
      // Positive pitch looks down on the person from above (up is -Y).
      var y2 = cp * y - sp * z1, z2 = sp * y + cp * z1;
      var d = Math.max(z2 + DIST, 1e-6 * DIST);
      return [V3.w / 2 + FOC * x1 / d, V3.h / 2 + FOC * y2 / d, z2];
    }

    function draw3d(t) {
      var ctx = V3.ctx;
      ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, V3.w, V3.h);
      // Floor grid under the feet, for a sense of depth and orientation.
      ctx.strokeStyle = "#e2e2e2"; ctx.lineWidth = 1;
      for (var g = -4; g <= 4; g++) {
        var u = C3[0] + g * R3 / 4, w = C3[2] + g * R3 / 4;
        var a = view([u, floorY, C3[2] - R3]), b = view([u, floorY, C3[2] + R3]);
        ctx.beginPath(); ctx.moveTo(a[0], a[1]); ctx.lineTo(b[0], b[1]); ctx.stroke();
        a = view([C3[0] - R3, floorY, w]); b = view([C3[0] + R3, floorY, w]);
        ctx.beginPath(); ctx.moveTo(a[0], a[1]); ctx.lineTo(b[0], b[1]); ctx.stroke();
      }
      if (WP) {  // the root's path on the floor, travelled part darker
        ctx.lineWidth = 1.5;
        [[0, T - 1, "#d8c9a8"], [0, t, "#a07b30"]].forEach(function (seg) {
          ctx.strokeStyle = seg[2]; ctx.beginPath();
          for (var i = seg[0]; i <= seg[1]; i++) {
            var q = view([WP[i][0], floorY, WP[i][2]]);
            if (i === seg[0]) ctx.moveTo(q[0], q[1]); else ctx.lineTo(q[0], q[1]);
          }
          ctx.stroke();
        });
      }
      var pts = P3[t].map(function (p) { return ok(p) ? view(p) : null; });
      // Painter's order: far bones first.
      var order = ALL.filter(function (j) { return PAR[j] >= 0 && pts[j] && pts[PAR[j]]; });
      order.sort(function (i, j) { return (pts[j][2] + pts[PAR[j]][2]) - (pts[i][2] + pts[PAR[i]][2]); });
      drawBones(ctx, pts, order);
    }

    // ---- Playback. ----
    var frame = 0, playing = true, t0 = null, f0 = 0;
    var slider = document.getElementById("slider"), counter = document.getElementById("counter");
    var playBtn = document.getElementById("play");
    slider.max = String(T - 1);
    function show(t) {
      frame = ((t % T) + T) % T;
      draw2d(frame); draw3d(frame);
      slider.value = String(frame);
      counter.textContent = "frame " + (frame + 1) + " / " + T;
    }
    function setPlaying(p) {
      playing = p; playBtn.textContent = p ? "Pause" : "Play"; t0 = null; f0 = frame;
      if (p) requestAnimationFrame(tick);
    }
    function tick(now) {
      if (!playing) return;
      if (t0 === null) { t0 = now; f0 = frame; }
      var f = (f0 + Math.floor((now - t0) * D.fps / 1000)) % T;
      if (f !== frame) show(f);
      requestAnimationFrame(tick);
    }
    playBtn.addEventListener("click", function () { setPlaying(!playing); });
    slider.addEventListener("input", function () { show(parseInt(slider.value, 10)); t0 = null; });
    document.addEventListener("keydown", function (e) {
      if (e.target === slider) return;
      if (e.key === " ") { e.preventDefault(); setPlaying(!playing); }
      else if (e.key === "ArrowRight") { setPlaying(false); show(frame + 1); }
      else if (e.key === "ArrowLeft") { setPlaying(false); show(frame - 1); }
    });

    // ---- Orbit with the mouse (or touch). ----
    var drag = null, c3 = V3.c;
    c3.addEventListener("pointerdown", function (e) {
      drag = { x: e.clientX, y: e.clientY, yaw: yaw, pitch: pitch };
      c3.setPointerCapture(e.pointerId); c3.style.cursor = "grabbing";
    });
    c3.addEventListener("pointermove", function (e) {
      if (!drag) return;
      yaw = drag.yaw + 0.01 * (e.clientX - drag.x);
      pitch = Math.max(-1.5, Math.min(1.5, drag.pitch + 0.01 * (e.clientY - drag.y)));
      draw3d(frame);
    });
    function endDrag() { drag = null; c3.style.cursor = "grab"; }
    c3.addEventListener("pointerup", endDrag);
    c3.addEventListener("pointercancel", endDrag);
    c3.addEventListener("dblclick", function () { yaw = YAW0; pitch = PITCH0; draw3d(frame); });

    show(0);
    statusEl.textContent = "ready: " + T + " frames";
    setPlaying(true);
  } catch (err) {
    statusEl.textContent = "error: " + (err && err.message ? err.message : String(err));
    throw err;
  }
})();
</script>
</body>
</html>
"""
