"""The mistakes a user can fix, one class each; every message names the fix.

The command line prints these as one line, ``error: <message>``, without a traceback
(``--debug`` shows it); any other exception is a bug in the course and keeps its
traceback. Each class also derives from the built-in exception a caller would expect
(ValueError for a bad setting, FileNotFoundError for missing data).
"""

from __future__ import annotations


class CourseError(Exception):
    """A problem the user can fix; the message says how. Chapters 4 and 5."""


class ConfigError(CourseError, ValueError):
    """A setting that cannot work: out of range, unknown, or unsupported on this device.

    Chapter 5.
    """


class DatasetError(CourseError, FileNotFoundError):
    """A dataset that is missing, empty or could not be downloaded. Chapter 4."""


class CheckpointError(CourseError, RuntimeError):
    """A checkpoint or weights file that cannot be used: missing, corrupt, foreign or mismatched.

    Chapter 5.
    """


class TrainingDiverged(CourseError, RuntimeError):
    """A loss became NaN or infinite; the last good checkpoint is kept. Chapter 5."""


class TrainingInterrupted(CourseError):
    """SIGINT or SIGTERM stopped training after a whole step; the checkpoint holds that step.

    ``signal_number`` is the signal, ``step`` the last finished step,
    ``checkpoint_path`` where it was saved (None when the run had no out_dir) and ``result``
    the TrainResult up to that step.
    Chapter 5.
    """

    def __init__(self, signal_number: int, step: int, checkpoint_path=None, elsewhere=False,
                 result=None):  # fmt: skip
        import signal

        self.signal_number, self.step, self.checkpoint_path = signal_number, step, checkpoint_path
        self.result = result  # the TrainResult so far: a notebook keeps the models it trained
        if elsewhere:  # a torchrun process other than rank 0
            where = "rank 0 wrote the checkpoint"
        elif checkpoint_path is None:
            where = "nothing was saved (no out_dir)"
        else:
            where = f"the checkpoint at step {step} is {checkpoint_path}"
        name = signal.Signals(signal_number).name
        super().__init__(f"training stopped by {name} after step {step}; {where}")
