"""Progress bars that suit where the output goes: tqdm's live bar on a terminal; in a file or a
pipe (a `nohup` log, `| tee`), one plain line every 10 % instead of hundreds of carriage-return
updates."""

from __future__ import annotations

import sys
from typing import Any

from tqdm import tqdm

LINE_EVERY_PCT = 10.0


class _LineBar(tqdm):
    """tqdm that writes a whole line at each 10 % step (and once at the end), never a `\r` update."""

    FORMAT = "{desc}: {percentage:3.0f}% ({n_fmt}/{total_fmt}) [{elapsed}<{remaining}, {rate_fmt}{postfix}]"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._next_pct, self._last_n = LINE_EVERY_PCT, -1
        kwargs.update(mininterval=0.0, miniters=1, leave=True, ascii=True, bar_format=self.FORMAT)
        super().__init__(*args, **kwargs)

    def _line(self) -> None:
        if self.n != self._last_n:
            self._last_n = self.n
            self.fp.write(self.__str__().strip() + "\n")
            self.fp.flush()

    def display(self, msg: str | None = None, pos: int | None = None) -> bool:
        if msg is None and self.total:
            pct = 100.0 * self.n / self.total
            if pct + 1e-9 >= self._next_pct:
                while self._next_pct <= pct + 1e-9:
                    self._next_pct += LINE_EVERY_PCT
                self._line()
        return True

    def close(self) -> None:
        if self.disable:
            return
        if self.n:
            if not self.total:  # unknown length: one line at the end
                self.bar_format = "{desc}: {n_fmt} [{elapsed}, {rate_fmt}{postfix}]"
            self._line()
        self.disable = True
        self._decr_instances(self)


def progress_bar(iterable: Any = None, enabled: bool = True, lines: bool = True, **kwargs: Any) -> tqdm:
    """`tqdm(iterable, **kwargs)` on a terminal; elsewhere a line every 10 % (or nothing when not
    `lines`, for work that prints its own line when done, e.g. a training epoch); nothing at all
    when not `enabled` (the commands' --no-progress). Written to stderr, as tqdm does."""
    stream = kwargs.get("file") or sys.stderr
    tty = getattr(stream, "isatty", lambda: False)()
    if not enabled or not (tty or lines):
        return tqdm(iterable, disable=True, **kwargs)
    return tqdm(iterable, **kwargs) if tty else _LineBar(iterable, **kwargs)
