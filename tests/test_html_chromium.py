"""The HTML player really runs and draws, checked in headless Chromium.

Skipped when no Chromium is installed, except under CI=true, where a missing browser is a failure
(CI installs Debian's `chromium` package).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ambipose.data.synthetic import synthetic_clip
from ambipose.viz.html import save_html

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FRAMES = 24
WINDOW = (900, 500)
# The player's bone colours (see viz/html.py): left limbs blue, right limbs red.
LEFT_RGB = (0x1F, 0x5F, 0xD6)
RIGHT_RGB = (0xD6, 0x27, 0x28)


@pytest.fixture(scope="module")
def browser() -> str:
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    msg = f"no headless browser found on PATH (tried {', '.join(BROWSERS)}); install Debian's `chromium`"
    if os.environ.get("CI") == "true":
        pytest.fail(msg + " (required under CI=true)")
    pytest.skip(msg)


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    clip = synthetic_clip(frames=FRAMES, seed=0)
    out = tmp_path_factory.mktemp("html") / "player.html"
    return save_html(
        clip["poses_2d"], clip["poses_3d"], out, fps=25, title="chromium check",
        image_size=clip["image_size"], meta={"seq": "synthetic"},
    )


def run_browser(browser: str, tmp: Path, *args: str) -> subprocess.CompletedProcess:
    cmd = [
        browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-extensions", "--hide-scrollbars", "--mute-audio",
        f"--user-data-dir={tmp / 'profile'}", *args,
    ]
    # HOME inside tmp keeps the browser from writing caches into the real home directory.
    env = {**os.environ, "HOME": str(tmp)}
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=env, cwd=tmp)


def test_dom_reports_ready(browser: str, page: Path, tmp_path: Path) -> None:
    res = run_browser(browser, tmp_path, "--virtual-time-budget=3000", "--dump-dom", page.resolve().as_uri())
    assert res.returncode == 0, res.stderr[-2000:]
    status = re.search(r'id="status">([^<]*)<', res.stdout)
    assert status is not None, f"no #status element in the dumped DOM; stderr: {res.stderr[-1500:]}"
    assert status.group(1) == f"ready: {FRAMES} frames", f"#status reads {status.group(1)!r}"
    assert "<title>chromium check</title>" in res.stdout


def colour_pixels(arr: np.ndarray, rgb: tuple[int, int, int], tol: int = 25) -> int:
    return int(np.all(np.abs(arr - np.array(rgb)) <= tol, axis=-1).sum())


def test_screenshot_shows_both_skeletons(browser: str, page: Path, tmp_path: Path) -> None:
    shot = tmp_path / "shot.png"
    res = run_browser(
        browser, tmp_path, "--virtual-time-budget=2000", f"--window-size={WINDOW[0]},{WINDOW[1]}",
        f"--screenshot={shot}", page.resolve().as_uri(),
    )
    assert res.returncode == 0 and shot.exists(), res.stderr[-2000:]
    with Image.open(shot) as im:
        arr = np.asarray(im.convert("RGB"), dtype=np.int32)
    h, w, _ = arr.shape
    # The two canvases sit side by side above the controls: left half = 2D, right half = 3D.
    # The top 80 % of the window holds them; the controls (whose slider is also blue) lie below.
    views = arr[: int(0.8 * h)]
    for name, region in (("2D", views[:, : w // 2]), ("3D", views[:, w // 2 :])):
        assert region.std() > 5.0, f"{name} canvas region is blank"
        assert colour_pixels(region, LEFT_RGB) > 30, f"{name} view: no left-limb (blue) strokes drawn"
        assert colour_pixels(region, RIGHT_RGB) > 30, f"{name} view: no right-limb (red) strokes drawn"
