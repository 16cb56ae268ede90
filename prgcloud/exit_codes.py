"""The exit codes prgcloud documents (docs/exit-codes.md); anything else is gcloud's own code."""

OK = 0
BAD_INPUT = 2
DOES_NOT_FIT = 3
PRECHECK_FAILED = 4
WAIT_TIMED_OUT = 5
FAILED = 6  # what was waited for failed: the persistent resource went to ERROR, the job FAILED
CANCELLED = 7  # the job waited for was cancelled
POLICY_REFUSED = 8
PLUGIN_NOT_RUNNABLE = 126
GCLOUD_NOT_FOUND = 127
INTERRUPTED = 130
