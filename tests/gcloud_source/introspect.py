"""Print, as JSON, the tables prgcloud copies from gcloud, read from gcloud's own Python source.

Run with gcloud's bundled interpreter: `python3 introspect.py SDK_ROOT`. It builds the real
calliope parser for `ai custom-jobs create` and reads gcloud's constants, so the answer is
what the installed gcloud does, not what its documentation says.
"""

import json
import sys

root = sys.argv[1]
sys.path[:0] = [f"{root}/lib", f"{root}/lib/third_party", f"{root}/data/cli"]

from gcloud_completions import STATIC_COMPLETION_CLI_TREE  # noqa: E402
from googlecloudsdk.calliope import parser_arguments, parser_extensions  # noqa: E402
from googlecloudsdk.command_lib.ai import constants  # noqa: E402
from googlecloudsdk.command_lib.ai.custom_jobs import flags  # noqa: E402


class _Command:
    def GetPath(self):  # calliope calls it by this name
        return ["gcloud", "ai", "custom-jobs", "create"]


parser = parser_extensions.ArgumentParser(add_help=False, calliope_command=_Command())
interceptor = parser_arguments.ArgumentInterceptor(parser)
flags.AddCreateCustomJobFlags(interceptor)
# argparse's action classes, in prgcloud's terms (prgcloud/flags.py `Kind`).
_KINDS = {
    "_StoreAction": "value",
    "_StoreTrueAction": "bool",
    "_StoreFalseAction": "negation",
    "_AppendAction": "append",
    "UpdateAction": "append",  # gcloud's: repeated occurrences are merged
}
create_flags = {
    name: _KINDS.get(type(action).__name__, type(action).__name__)
    for action in interceptor.data.flag_args
    for name in action.option_strings
}
print(
    json.dumps(
        {
            "create_flags": create_flags,
            "worker_pool_spec": {
                key: getattr(kind, "__name__", type(kind).__name__)
                for key, kind in flags._WORKER_POOL_SPEC.kwargs["type"].spec.items()
            },
            "training_regions": list(constants.SUPPORTED_TRAINING_REGIONS),
            "global_flags": sorted(STATIC_COMPLETION_CLI_TREE["flags"]),
        }
    )
)
