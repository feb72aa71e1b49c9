"""Progress bars: drawn on a terminal, silent anywhere else, counting what the work reports."""
import io

from coach.bars import as_counter, bar


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_bar_draws_on_a_terminal_and_counts():
    tty = Terminal()
    with bar("Tracking", 10, "frame", stream=tty, delay_s=0) as b:
        for _ in range(10):
            b.update(1)
        b.refresh()
        assert b.n == 10
    assert "Tracking:   0%" in tty.getvalue() and "10/10" in tty.getvalue()


def test_a_bar_is_silent_off_a_terminal_or_when_quiet():
    for stream, quiet in ((io.StringIO(), False), (Terminal(), True)):
        with bar("Tracking", 10, stream=stream, delay_s=0, quiet=quiet) as b:
            b.update(10)
        assert stream.getvalue() == ""


def test_counter_callbacks_set_the_total_and_the_count():
    with bar("Loading clips", stream=Terminal(), delay_s=0) as b:
        report = as_counter(b)
        report(1, 4)
        report(3, 4)
        assert (b.n, b.total) == (3, 4)
