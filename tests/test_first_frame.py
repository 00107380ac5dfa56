"""The frame drawn before Textual is imported must be the frame Textual
paints first: same text, same colours, cell for cell, or the operator sees
the screen jump when Textual takes over."""

from __future__ import annotations

import io
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from rich.color import ColorSystem
from textual.widgets import Static

from llmkube_tui.ui import first_frame
from llmkube_tui.ui.app import LlmkubeApp
from llmkube_tui.ui.widgets.resource_table import ResourceTable
from llmkube_tui.ui.widgets.status_bar import StatusBar
from tests.dashboard_data import NOW, FixedSource

ESCAPE = re.compile(r"\x1b\[([0-9;?]*)([A-Za-z])")


def _plain(codes: str, width: int, height: int) -> list[str]:
    """The text of each screen line the escape codes draw."""
    screen = [[" "] * width for _ in range(height)]
    y = x = 0
    pos = 0
    for match in ESCAPE.finditer(codes):
        for char in codes[pos : match.start()]:
            screen[y][x] = char
            x += 1
        pos = match.end()
        if match[2] == "H":
            row, col = (int(n) for n in match[1].split(";"))
            y, x = row - 1, col - 1
    return ["".join(line).rstrip() for line in screen]


@pytest.mark.parametrize(("width", "height"), [(80, 24), (120, 40)])
def test_the_frame_is_the_loading_dashboard(width: int, height: int) -> None:
    lines = _plain(first_frame.render(width, height, ColorSystem.EIGHT_BIT), width, height)
    assert lines[0] == " llmkube-tui  ctx: -  k8s: -  ns: all   connecting   no data"
    assert lines[1] == " Namespaces"
    assert lines[2] == " NAMESPACE  REQ  CAP  USED  USAGE  ENTRIES  MODELS  SVC  GPU"
    assert lines[3 : height - 1] == [""] * (height - 4)
    assert lines[height - 1] == "  loading…"


def test_read_only_is_in_the_header() -> None:
    lines = _plain(first_frame.render(80, 24, ColorSystem.STANDARD, read_only=True), 80, 24)
    assert lines[0] == " llmkube-tui  ctx: -  k8s: -  ns: all   connecting   no data   READ-ONLY"


def test_the_name_gives_way_to_the_state_where_space_is_short() -> None:
    context = "admin@a-cluster-with-a-long-name"
    assert first_frame.status_line(context=context, width=120).plain.startswith("llmkube-tui")
    narrow = first_frame.status_line(context=context, width=80).plain
    assert narrow.startswith("ctx: ") and "connecting" in narrow


class _Tty(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


@pytest.mark.parametrize(
    ("theme", "filter_text", "env", "tty"),
    [
        ("ansi", "", {}, True),
        (None, "team", {}, True),
        (None, "", {"NO_COLOR": "1"}, True),
        (None, "", {"TEXTUAL_COLOR_SYSTEM": "standard"}, True),
        (None, "", {"TERM": "dumb"}, True),
        (None, "", {}, False),
    ],
    ids=["theme", "filter", "no-color", "color-system", "dumb", "not-a-tty"],
)
def test_no_frame_where_it_could_not_match_textual(
    theme: str | None,
    filter_text: str,
    env: dict[str, str],
    tty: bool,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    out = _Tty(tty=tty)
    assert first_frame.matching(theme, False, filter_text, out) is None
    assert out.getvalue() == ""


@pytest.mark.parametrize("read_only", [False, True])
def test_no_frame_where_textual_would_scroll_the_table_or_wrap_the_header(
    read_only: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under 61 columns the table has a scrollbar, and the header (59
    cells with READ-ONLY, the name left out) wraps; neither is drawn here."""
    monkeypatch.setenv("COLUMNS", "60")
    monkeypatch.setenv("LINES", "24")
    monkeypatch.setenv("TERM", "xterm-256color")
    assert first_frame.matching(None, read_only, "", _Tty(tty=True)) is None
    monkeypatch.setenv("COLUMNS", "61")
    assert first_frame.matching(None, read_only, "", _Tty(tty=True)) is not None


def test_closing_gives_the_screen_back_once() -> None:
    out = io.StringIO()
    frame = first_frame.FirstFrame(out, 80, 24, ColorSystem.STANDARD)
    frame.close()
    assert out.getvalue() == ""  # never drawn
    frame.draw()
    frame.close()
    frame.close()
    assert out.getvalue().startswith(first_frame.ENTER)
    assert out.getvalue().endswith(first_frame.LEAVE)
    assert out.getvalue().count(first_frame.LEAVE) == 1
    handed = first_frame.FirstFrame(io.StringIO(), 80, 24, ColorSystem.STANDARD)
    handed.draw()
    handed.handed_over()
    handed.close()
    assert first_frame.LEAVE not in handed.out.getvalue()


async def test_its_colours_are_the_default_themes() -> None:
    """The frame hard-codes the styles Textual computes from the theme and
    the stylesheets; a change to either must change them too."""
    app = LlmkubeApp(source=FixedSource(), clock=lambda: NOW)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        table = app.query_one("#namespaces", ResourceTable)
        assert app.focused is table  # as in the first frame
        base, header, _ = table._line_styles()
        computed = {
            "status": app.query_one(StatusBar).rich_style,
            "title": app.query_one("#namespaces-title", Static).rich_style,
            "table": base,
            "header": header,
            "empty": app.query_one("#namespaces-empty", Static).rich_style,
        }
    assert {k: str(v) for k, v in computed.items()} == {
        "status": first_frame.STATUS_STYLE,
        "title": first_frame.TITLE_STYLE,
        "table": first_frame.TABLE_STYLE,
        "header": first_frame.HEADER_STYLE,
        "empty": first_frame.EMPTY_STYLE,
    }


# -- in a real terminal --------------------------------------------------------
SGR = re.compile(r"\x1b\[([0-9;]*)m")


@dataclass(frozen=True)
class Cell:
    char: str
    fg: str
    bg: str
    bold: bool
    reverse: bool


def _cells(line: str) -> list[Cell]:
    """A line of `tmux capture-pane -e` as cells; the colour a blank cell
    is written in cannot be seen, so it is left out."""
    fg = bg = "default"
    bold = reverse = False
    cells: list[Cell] = []
    pos = 0
    for match in [*SGR.finditer(line), None]:
        end = match.start() if match else len(line)
        for char in line[pos:end]:
            seen_fg = fg if char != " " or reverse else ""
            cells.append(Cell(char, seen_fg, bg, bold, reverse))
        if match is None:
            break
        pos = match.end()
        codes = [int(c) if c else 0 for c in match[1].split(";")]
        i = 0
        while i < len(codes):
            code = codes[i]
            if code == 0:
                fg = bg = "default"
                bold = reverse = False
            elif code == 1:
                bold = True
            elif code == 22:
                bold = False
            elif code == 7:
                reverse = True
            elif code == 27:
                reverse = False
            elif code == 39:
                fg = "default"
            elif code == 49:
                bg = "default"
            elif code in (38, 48):
                if codes[i + 1] == 5:
                    value, i = f"256:{codes[i + 2]}", i + 2
                else:
                    value, i = "rgb:{}:{}:{}".format(*codes[i + 2 : i + 5]), i + 4
                fg, bg = (value, bg) if code == 38 else (fg, value)
            elif 30 <= code <= 37 or 90 <= code <= 97:
                fg = str(code)
            elif 40 <= code <= 47 or 100 <= code <= 107:
                bg = str(code)
            i += 1
    while cells and cells[-1].char == " " and cells[-1].bg == "default":
        cells.pop()
    return cells


DRAW_ONLY = (
    "import sys, time; from llmkube_tui.ui import first_frame; "
    "frame = first_frame.matching(None, sys.argv[1] == 'ro'); frame.draw(); time.sleep(60)"
)


@pytest.fixture
def silent_kubeconfig(tmp_path: Path) -> Iterator[Path]:
    """A kubeconfig whose API server accepts connections and never answers:
    the dashboard stays in its loading state."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(16)
        port = server.getsockname()[1]
        kubeconfig = tmp_path / "kubeconfig"
        kubeconfig.write_text(
            "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
            f"clusters: [{{name: c, cluster: {{server: 'https://127.0.0.1:{port}'}}}}]\n"
            "users: [{name: u, user: {token: t}}]\n"
            "contexts: [{name: c, context: {cluster: c, user: u}}]\n"
        )
        yield kubeconfig


def _tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], capture_output=True, text=True, check=True).stdout


def _start(session: str, kubeconfig: Path, size: tuple[int, int], term: str, *command: str) -> None:
    width, height = size
    env = {"KUBECONFIG": str(kubeconfig), "HOME": str(kubeconfig.parent), "TERM": term}
    # Sessions started under pytest inherit COLUMNS=80 and LINES=24 from
    # somewhere; both frames would follow them, but the size is meant.
    env |= {"COLORTERM": "", "COLUMNS": str(width), "LINES": str(height)}
    env_args = [arg for k, v in env.items() for arg in ("-e", f"{k}={v}")]
    repo = str(Path(__file__).parents[1])
    _tmux("new-session", "-d", "-s", session, "-x", str(width), "-y", str(height), *env_args,
          "-c", repo, *command)  # fmt: skip


@pytest.mark.parametrize(
    ("term", "width", "height", "read_only"),
    [
        ("xterm-256color", 120, 40, False),
        ("xterm", 120, 40, False),
        ("xterm-256color", 80, 24, False),
        ("xterm-256color", 80, 24, True),
    ],
)
def test_textual_takes_over_the_same_frame(
    silent_kubeconfig: Path, term: str, width: int, height: int, read_only: bool
) -> None:
    session = f"llmkube-first-{os.getpid()}"

    def run(*argv: str, settle: float) -> list[str]:
        _start(session, silent_kubeconfig, (width, height), term, sys.executable, *argv)
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                screen = _tmux("capture-pane", "-p", "-e", "-t", session)
                if "NAMESPACE" in screen:
                    break
                time.sleep(0.002)
            time.sleep(settle)
            return _tmux("capture-pane", "-p", "-e", "-t", session).split("\n")[:height]
        finally:
            subprocess.run(["tmux", "kill-session", "-t", session], check=False)

    # The frame alone, without Textual behind it.
    ours = run("-c", DRAW_ONLY, "ro" if read_only else "rw", settle=0.2)
    # The dashboard, with the same theme named: Textual draws its first frame.
    flags = ["--read-only"] if read_only else []
    textual = run("-m", "llmkube_tui.cli", "--theme", "textual-dark", *flags, settle=2.0)
    assert "connecting" in textual[0], textual[0]
    # A frame later Textual docks its footer on the last line, which moves
    # "loading…" up one line; every other line is as it was.
    last = height - 1
    assert [_cells(line) for line in ours[: last - 1]] == [
        _cells(line) for line in textual[: last - 1]
    ]
    assert _cells(ours[last]) == _cells(textual[last - 1])


def test_ctrl_c_while_textual_loads_gives_the_terminal_back(silent_kubeconfig: Path) -> None:
    session = f"llmkube-interrupt-{os.getpid()}"
    # bash goes on after a command that handled ctrl+c and exited.
    script = f"{sys.executable} -m llmkube_tui.cli; echo exit=$?; sleep 60"
    _start(session, silent_kubeconfig, (120, 40), "xterm-256color", "bash", "-c", script)
    try:
        deadline = time.monotonic() + 30
        while "NAMESPACE" not in _tmux("capture-pane", "-p", "-t", session):
            assert time.monotonic() < deadline
            time.sleep(0.002)
        # The early frame is up and Textual is still being imported.
        _tmux("send-keys", "-t", session, "C-c")
        while "exit=" not in (screen := _tmux("capture-pane", "-p", "-t", session)):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        # Off the alternate screen, the cursor shown, no traceback.
        state = _tmux("display-message", "-p", "-t", session, "#{alternate_on} #{cursor_flag}")
        assert state.split() == ["0", "1"]
        assert "exit=130" in screen
        assert "Traceback" not in screen
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], check=False)
