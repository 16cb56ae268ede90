"""Run under gcloud's own Python: print each (format, data, flatten) case as gcloud's resource
printers do (googlecloudsdk/core/resource). Used by tests/test_output.py as the reference.

stdin: a JSON list of {"format", "data", "flatten"}; stdout: a JSON list of outputs, or
"ERROR: ..." where gcloud refuses the format.
"""

import io
import json
import sys

sdk_lib = sys.argv[1]
sys.path[:0] = [sdk_lib, sdk_lib + "/third_party"]
from googlecloudsdk.calliope import display_taps  # noqa: E402
from googlecloudsdk.core.resource import resource_lex, resource_printer  # noqa: E402
from googlecloudsdk.core.util import peek_iterable  # noqa: E402


def flattened(resources, keys):
    for text in keys:
        head = []
        sliced = False
        for k in resource_lex.Lexer(text).Key():
            if k is None:
                sliced = True
                resources = peek_iterable.Tapper(resources, display_taps.Flattener(head))
            else:
                sliced = False
                head.append(k)
        if not sliced:
            resources = peek_iterable.Tapper(resources, display_taps.Flattener(head))
    return list(resources)


results = []
for case in json.load(sys.stdin):
    out = io.StringIO()
    try:
        if case["flatten"]:
            resources = flattened([case["data"]], case["flatten"])
            resource_printer.Print(resources, case["format"], out=out)
        else:
            resource_printer.Print(case["data"], case["format"], out=out, single=True)
        results.append(out.getvalue())
    except Exception as error:  # noqa: BLE001 - any refusal is the answer
        results.append(f"ERROR: {error}")
json.dump(results, sys.stdout)
