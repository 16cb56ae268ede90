"""The command line: find the verb, hand it its arguments, turn errors into exit codes.

This is the only module that prints an error or decides an exit status. Each verb lives in
`prgcloud/commands/<verb>.py` and exposes `run(argv, env) -> int`; they are imported only
when chosen, so `--dry-run` never pays for the Vertex AI SDK. Then come gcloud's own
commands, then plugins: `prgcloud NAME ARGS...` runs an executable `prgcloud-NAME`
(`prgcloud.plugins`) when NAME is not a gcloud command. Any other command is
gcloud's: prgcloud is a drop-in, so it runs gcloud with the same arguments, stdin, output and
exit code.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import signal
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from prgcloud import __version__, exit_codes, process
from prgcloud.environment import Environment
from prgcloud.errors import PrgcloudError

# (words after the optional release track) -> module under prgcloud.commands. The `ai` verbs
# read like gcloud commands: a release track may come first, and gcloud-wide flags may come
# before or between the words, as gcloud allows.
_VERBS: dict[tuple[str, ...], str] = {
    ("ai", "custom-jobs", "create"): "create",
    ("ai", "custom-jobs", "create-batch"): "create_batch",
    ("ai", "custom-jobs", "check"): "check",
    ("ai", "custom-jobs", "wait"): "wait",
    ("ai", "custom-jobs", "cancel"): "cancel",
    ("ai", "custom-jobs", "stream-logs"): "stream_logs",
    ("ai", "hp-tuning-jobs", "wait"): "tuning_wait",
    ("ai", "hp-tuning-jobs", "cancel"): "tuning_cancel",
    ("ai", "hp-tuning-jobs", "stream-logs"): "tuning_stream_logs",
    ("ai", "persistent-resources", "capacity"): "capacity",
    ("ai", "persistent-resources", "delete"): "resource_delete",
    ("ai", "persistent-resources", "reboot"): "resource_reboot",
    ("ai", "hp-tuning-jobs", "create"): "tuning_create",
    ("ai", "hp-tuning-jobs", "check"): "tuning_check",
    ("ai", "persistent-resources", "create"): "resource_create",
}
# prgcloud's own verbs, which gcloud does not have: only as the first word, with no track.
_OWN_VERBS = {"emulator": "emulator", "shim-path": "shim_path", "plugin": "plugin"}
OWN_COMMANDS = frozenset(_OWN_VERBS)
_TRACKS = ("alpha", "beta")
_SHORT_GLOBAL_FLAGS = ("-q", "-h")

USAGE = """\
usage: prgcloud [alpha|beta] ai custom-jobs create ARGS... [--dry-run[=shell|rest|python]]
                                [--skip-precheck] [--wait-for-capacity[=DURATION]] [--strict]
                                [--wait[=DURATION]] [--stream-logs]
       prgcloud [alpha|beta] ai custom-jobs create-batch FILE [ARGS...] [--max-rate=N]
                                [--keep-going] [--manifest=PATH] [--format=text|json]
                                [--dry-run[=STYLE]] [--wait-for-capacity[=DURATION]]
       prgcloud [alpha|beta] ai custom-jobs check ARGS... [--format=FORMAT]
       prgcloud [alpha|beta] ai custom-jobs wait JOB [--region=R] [--project=P] [--format=FORMAT]
                                [--polling-interval=SECONDS] [--timeout=DURATION]
       prgcloud [alpha|beta] ai custom-jobs cancel JOB [--wait[=DURATION]] [gcloud's flags]
       prgcloud [alpha|beta] ai custom-jobs stream-logs JOB [gcloud's flags]
       prgcloud [alpha|beta] ai hp-tuning-jobs create|check ARGS... [the same prgcloud flags]
                                [--persistent-resource-id=ID] [--worker-pool-spec=SPEC]...
       prgcloud [alpha|beta] ai hp-tuning-jobs wait JOB [the flags of custom-jobs wait]
       prgcloud [alpha|beta] ai hp-tuning-jobs cancel|stream-logs JOB [as for custom-jobs]
       prgcloud [alpha|beta] ai persistent-resources create ARGS... [--dry-run[=shell|rest|python]]
                                [--wait[=DURATION]] [--polling-interval=DURATION]
       prgcloud ai persistent-resources capacity ID [--region=R] [--project=P] [--format=FORMAT]
                                [--jobs]
       prgcloud [alpha|beta] ai persistent-resources delete|reboot ID [--region=R] [--project=P]
                                [--force] [--wait[=DURATION]] [--polling-interval=SECONDS]
       prgcloud emulator start|env-init [--host H] [--port N] [--data-dir DIR]
       prgcloud shim-path [--export]
       prgcloud plugin list
       prgcloud NAME ARGS...            runs the plugin prgcloud-NAME, when there is one on PATH
       prgcloud GCLOUD-COMMAND...       any other command is gcloud's, run as it is

ARGS are exactly those of `gcloud ai custom-jobs create`; see `gcloud ai custom-jobs create --help`.
FORMAT is gcloud's: json, yaml, value(...), table(...), csv(...), text, none.
"""


def find_verb(argv: Sequence[str]) -> tuple[str, str | None, list[str]] | None:
    """Split argv into (command module, release track, the verb's own arguments).

    gcloud-wide flags given before or between the command words (`--project=p ai
    custom-jobs create ...`) go to the verb first, in their order, so the last one still
    wins. None when the command is not prgcloud's (it is then gcloud's to run).
    """
    if argv and argv[0] in _OWN_VERBS:
        return _OWN_VERBS[argv[0]], None, list(argv[1:])
    words: list[str] = []
    leading_flags: list[str] = []
    i = 0
    while i < len(argv):
        item = argv[i]
        if item.startswith("-"):
            width = _global_flag_width(item)
            if not width:
                return None  # `--version`, `--`, or a flag gcloud-wide flags do not have
            leading_flags += argv[i : i + width]
            i += width
            continue
        words.append(item)
        i += 1
        track = words[0] if words[0] in _TRACKS else None
        command = tuple(words[1:] if track else words)
        if command in _VERBS:
            return _VERBS[command], track, [*leading_flags, *argv[i:]]
        if not any(verb[: len(command)] == command for verb in _VERBS):
            return None
    return None


def _global_flag_width(item: str) -> int:
    """How many argv items a gcloud-wide flag takes (1 or 2), or 0 if `item` is not one."""
    if item in _SHORT_GLOBAL_FLAGS:
        return 1
    from prgcloud import flags  # only when a flag comes first: a pass-through stays lean

    name, has_value, _value = item.partition("=")
    flag, _ = flags.lookup(name)
    if flag is None or flag.scope != "global":
        return 0
    if flag.kind is flags.Kind.VALUE and not has_value:
        return 2
    return 1


def main(argv: Sequence[str], env: Environment | None = None) -> int:
    """Run prgcloud with `argv` (without the program name); return the exit status.

    Without `env` this is the real process, and a command prgcloud does not wrap becomes
    gcloud (exec). With an `env` (tests, embedding) gcloud runs as a child instead, its
    output copied to env's streams.
    """
    this_process = env is None
    env = env or Environment()
    if not argv:
        env.stderr.write(USAGE)
        return exit_codes.BAD_INPUT
    if argv[0] in ("-h", "--help"):
        env.stdout.write(USAGE)
        return exit_codes.OK
    if argv[0] == "--version":
        env.stdout.write(f"prgcloud {__version__}\n")
        return exit_codes.OK
    try:
        found = find_verb(argv)
        if found is None:
            plugin = _plugin(argv[0], env)
            if plugin is not None:
                return _run_plugin(plugin, argv[1:], env, this_process=this_process)
            return _pass_through(argv, env, this_process=this_process)
        module_name, track, rest = found
        module = importlib.import_module(f"prgcloud.commands.{module_name}")
        status: int = module.run(rest, env, track=track)
    except PrgcloudError as error:
        env.stderr.write(f"ERROR: (prgcloud) {error}\n")
        return error.exit_code
    except KeyboardInterrupt:
        env.stderr.write("\nERROR: (prgcloud) interrupted.\n")
        return exit_codes.INTERRUPTED
    return status


def _plugin(word: str, env: Environment) -> str | None:
    """The `prgcloud-WORD` plugin to run for `prgcloud WORD ...`, if there is one.

    gcloud's own commands come first: a `prgcloud-config` never runs for `prgcloud config`.
    """
    from prgcloud import plugins
    from prgcloud.errors import GcloudNotFoundError

    path = plugins.find(word, env.environ)
    if path is None:
        return None
    try:
        gcloud = process.find_gcloud(env.environ)
    except GcloudNotFoundError:
        return path  # no gcloud to defer to
    return None if plugins.is_gcloud_command(word, gcloud) else path


def _run_plugin(path: str, args: Sequence[str], env: Environment, *, this_process: bool) -> int:
    """Run a plugin with `args`: become it, or (in-process callers) run it as a child."""
    if this_process:
        process.exec_program(path, args, env.environ)
    return process.run_program(
        path, args, env.environ, stdin=env.stdin, stdout=env.stdout, stderr=env.stderr
    )


def _pass_through(argv: Sequence[str], env: Environment, *, this_process: bool) -> int:
    """Run gcloud with argv unchanged: become it, or (in-process callers) run it as a child."""
    if this_process:
        process.exec_gcloud(argv, env.environ)
    return process.stream(argv, env.environ, stdin=env.stdin, stdout=env.stdout, stderr=env.stderr)


def console_main() -> NoReturn:
    """Entry point of the `prgcloud` console script.

    Signals, by phase (exit codes: 130 Ctrl-C, 143 SIGTERM, 129 SIGHUP):
    - before gcloud starts (parsing, pre-check, a wait for capacity): the work unwinds at
      once, each `finally` runs, nothing is sent;
    - from just before the generated config file is written until gcloud has exited and the
      file is removed: the signal is passed on to gcloud (`process.guarded`), then unwinds;
    - a second signal while the first unwinds, or any once the outcome is known: prgcloud
      exits at once, with the first one's code or the outcome (gcloud's own code).
    The exit itself skips the interpreter's teardown, once stdout and stderr are flushed.
    """
    global _outcome
    # A closed pipe (`prgcloud ... | head`) should end quietly, as gcloud does.
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    try:
        install_signal_handlers()
        # This process is prgcloud's own: it may import the SDK's client the fast way, which
        # leaves package `__init__`s that nothing here needs un-run (library callers never do).
        from prgcloud import sdk

        sdk.allow_fast_import()
        _outcome = main(sys.argv[1:])
    except _SignalExit as stop:
        _outcome = stop.status
        _say(f"ERROR: (prgcloud) {stop.what}.\n")
    except KeyboardInterrupt:  # Ctrl-C outside main's own handler
        _outcome = exit_codes.INTERRUPTED
    _exit(_outcome)


# The exit status once it is known, and that of the signal being unwound: from then on, a
# signal ends the process at once (raising again could interrupt the unwinding, or the exit).
_outcome: int | None = None
_unwinding: int | None = None


def install_signal_handlers() -> None:
    """The console script's signal handling (see `console_main`); call it once, first thing.

    SIGTERM and SIGHUP unwind like Ctrl-C (gcloud is stopped, temporary files removed), then
    exit with the conventional 128 + N. A signal ignored from the start stays ignored, as in
    a shell (`nohup prgcloud ...`).
    """
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(signum) in (signal.SIG_DFL, signal.default_int_handler):
            signal.signal(signum, _on_signal)
    sys.unraisablehook = _unraisable
    process.keep_handlers_prompt()  # even in the middle of a blocking read or wait


_default_unraisablehook = sys.unraisablehook
# How long after a dropped signal it comes again (the callback it landed in is over by then).
_REDELIVER_SECONDS = 0.05


def _unraisable(unraisable: Any) -> None:
    """An exception Python had to drop. A signal's can be one: a handler that runs inside a
    weakref callback or a `__del__` (the import system has some) raises there, and Python
    only reports it. The signal is then sent again, a moment later from another thread, so
    that its handler runs once the callback is over and unwinds from ordinary code (should it
    land in such a callback again, this comes round again)."""
    global _unwinding
    if isinstance(unraisable.exc_value, (KeyboardInterrupt, _SignalExit)) and _unwinding:
        import threading

        signum, _unwinding = _unwinding - 128, None
        again = threading.Timer(_REDELIVER_SECONDS, os.kill, (os.getpid(), signum))
        again.daemon = True
        again.start()
        return
    _default_unraisablehook(unraisable)


def _on_signal(signum: int, frame: object) -> None:
    """SIGINT, SIGTERM and SIGHUP outside `process.guarded`: unwind once, then exit at once."""
    global _unwinding
    if _outcome is not None:
        os._exit(_outcome)
    if _unwinding is not None:
        os._exit(_unwinding)
    _unwinding = 128 + signum
    if signum == signal.SIGINT:
        raise KeyboardInterrupt
    raise _SignalExit(signum)


class _SignalExit(SystemExit):
    """SIGTERM or SIGHUP outside `process.guarded`: unwinds, then exits 128 + N."""

    def __init__(self, signum: int) -> None:
        super().__init__(128 + signum)
        self.status = 128 + signum
        self.what = "hung up (SIGHUP)" if signum == signal.SIGHUP else "terminated (SIGTERM)"


def _say(text: str) -> None:
    # After a hangup the terminal is gone: writing to it fails, and that must not matter.
    with contextlib.suppress(OSError, ValueError):
        sys.stderr.write(text)


def _exit(status: int) -> NoReturn:
    """Flush what prgcloud printed, then exit at once: no teardown of the interpreter.

    Tearing down the modules the pre-check imported costs a quarter of a second after gcloud
    has already finished; nothing is left to clean up by then. Like the interpreter, exit 120
    when the output could not be written (a full disk, a closed terminal) and all else went well.
    """
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):
            if status == exit_codes.OK:
                status = 120
    os._exit(status)
