"""Progress output that suits where it goes (`ambipose/progress.py`)."""

from __future__ import annotations

import io

from ambipose.progress import progress_bar


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_file_or_pipe_gets_one_line_every_ten_percent_and_no_carriage_returns():
    out = io.StringIO()
    for _ in progress_bar(range(250), desc="evaluating", unit="clip", file=out):
        pass
    lines = out.getvalue().splitlines()
    assert "\r" not in out.getvalue()
    assert len(lines) == 10 and lines[0].startswith("evaluating:  10% (25/250)") and "100% (250/250)" in lines[-1]
    out = io.StringIO()
    with progress_bar(total=4, desc="detecting 2D", file=out) as bar:
        for i in range(3):
            bar.update(1)
    # Cut short: the last count still gets its line; nothing is printed twice.
    assert out.getvalue().splitlines()[-1].startswith("detecting 2D:  75% (3/4)")
    out = io.StringIO()
    for _ in progress_bar((i for i in range(7)), desc="unknown", file=out):
        pass
    assert out.getvalue().splitlines() == [out.getvalue().splitlines()[0]] and "unknown: 7" in out.getvalue()


def test_a_terminal_gets_tqdm_s_live_bar_and_lines_false_or_disabled_print_nothing():
    tty = _Tty()
    for _ in progress_bar(range(50), desc="lifting", file=tty, mininterval=0):
        pass
    assert "\r" in tty.getvalue()
    for kwargs in ({"lines": False}, {"enabled": False}):
        out = io.StringIO()
        for _ in progress_bar(range(50), desc="epoch 1/5", file=out, **kwargs):
            pass
        assert out.getvalue() == ""
    quiet = _Tty()
    for _ in progress_bar(range(50), enabled=False, file=quiet):
        pass
    assert quiet.getvalue() == ""
