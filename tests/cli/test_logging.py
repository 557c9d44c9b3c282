"""The library logs through `logging`; the command line shows its lines while a command runs."""

import logging

from fullspike.cli import _library_log_shown


def test_a_command_shows_info_on_stdout_and_warnings_on_stderr_then_leaves_logging_as_it_was(capsys):
    logger = logging.getLogger("fullspike.some.module")
    root = logging.getLogger("fullspike")
    handlers, level = list(root.handlers), root.level
    with _library_log_shown():
        logger.info("epoch 1 done")
        logger.debug("not shown")
        logger.warning("tensorboard is missing")
    out, err = capsys.readouterr()
    assert out.splitlines() == ["epoch 1 done"]
    assert err.splitlines() == ["warning: tensorboard is missing"]
    assert root.handlers == handlers and root.level == level
    logger.info("after the command")  # the library alone configures nothing
    assert capsys.readouterr().out == ""


def test_a_library_notice_is_one_note_line_without_source_echo(capsys):
    import warnings

    from fullspike.engine.cbuild import BuildNotice

    with _library_log_shown(), warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.warn("fullspike: compiling the native neuron kernels", BuildNotice, stacklevel=1)
    err = capsys.readouterr().err
    assert err == "note: fullspike: compiling the native neuron kernels\n"
    warnings.warn("outside a command", BuildNotice, stacklevel=1)  # the default display is back
    assert "note:" not in capsys.readouterr().err
