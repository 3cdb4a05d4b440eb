#!/usr/bin/env python3
"""Keeps `make scaffold` honest (run by `make test` after conformance):

    scaffold_check.py DECLARATIONS.json CALLS.log

Takes template.yaml, removes from a copy everything of one HTTP function and one queue consumer
the scaffold knows how to write (their function, alarms, log group, queue wiring and platform view)
and two routes of another function, runs the scaffold on the copy, and holds the result to the same
conformance check as the real template. Fails when the scaffold no longer writes a deployable context.
"""
import json
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)

from scaffold import kebab  # noqa: E402

KNOWN = ("dynamodb:", "secretsmanager:GetSecretValue")


def drop(text, lid):
    start = text.index(f"\n  {lid}:\n") + 1
    end = re.compile(r"\n  [A-Za-z0-9]+:\n|\nOutputs:\n").search(text, start + 3).start() + 1
    return text[:start] + text[end:]


def main():
    declarations_path, calls_path = sys.argv[1], sys.argv[2]
    with open(declarations_path) as f:
        declared = json.load(f)
    scaffoldable = [d for d in declared if all(c.startswith(KNOWN) for c in d["aws_calls"])]
    http = [d for d in scaffoldable if "http" in d["trigger"] and len(d["trigger"]["http"]) >= 2]
    consumers = [d for d in scaffoldable if "queue" in d["trigger"]]
    # A scheduled function's sends to the queues it feeds are scaffolded too.
    scheduled = [d for d in declared if "schedule" in d["trigger"]
                 and all(c.startswith(KNOWN) or c == "sqs:SendMessage" for c in d["aws_calls"])]
    if len(http) < 2 or not consumers or not scheduled:
        sys.exit("scaffold check: not enough scaffoldable functions to check with")
    with open(os.path.join(ROOT, "template.yaml")) as f:
        text = f.read()
    removed = []
    for d in (http[-1], consumers[-1], scheduled[-1]):
        lid = d["logical_id"]
        prefix = lid.removesuffix("Function")
        names = [lid, f"{prefix}ErrorsAlarm", f"{prefix}ThrottlesAlarm", f"{prefix}LogGroup"]
        if "queue" in d["trigger"]:
            queue = d["trigger"]["queue"]["queue"]
            base = queue.removesuffix("Queue")
            names += [f"{base}Dlq", queue, f"{base}Rule", f"{base}QueuePolicy", f"{base}DlqAlarm", f"{base}BacklogAlarm",
                      f"{prefix}RefusedEventsFilter", f"{prefix}RefusedEventsAlarm"]
            env = re.sub(r"(?<!^)(?=[A-Z])", "_", base).upper()
            text = re.sub(rf"          KEEL_QUEUE_{env}_(QUEUE|DLQ): !Ref \w+\n", "", text)
            text = text.replace(f"                - !GetAtt {queue}.Arn\n", "")
            text = text.replace(f"                - !GetAtt {base}Dlq.Arn\n", "")
        for name in names:
            text = drop(text, name)
        removed.append(f"{lid} ({kebab(lid)})")
    # Two routes of another function.
    other = http[0]["logical_id"]
    for r in http[0]["trigger"]["http"][-2:]:
        pattern = rf"        \w+:\n          Type: HttpApi\n          Properties:\n            ApiId: !Ref HttpApi\n" \
                  rf"            Path: {re.escape(r['path'])}\n            Method: {r['method']}\n"
        text, n = re.subn(pattern, "", text)
        if n != 1:
            sys.exit(f"scaffold check: could not find {other}'s {r['method']} {r['path']} route")
        removed.append(f"{other}: {r['method']} {r['path']}")
    with tempfile.TemporaryDirectory() as tmp:
        copy = os.path.join(tmp, "template.yaml")
        with open(copy, "w") as f:
            f.write(text)
        subprocess.run([sys.executable, os.path.join(HERE, "scaffold.py"), declarations_path, copy], check=True,
                       stdout=subprocess.DEVNULL)
        result = subprocess.run([sys.executable, os.path.join(HERE, "conformance.py"), declarations_path, calls_path,
                                 copy], capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"scaffold check: after removing {', '.join(removed)}, the scaffold's template fails conformance:\n"
                 + result.stderr)
    print(f"scaffold check: removed {', '.join(removed)}; the scaffold wrote them back conformant", file=sys.stderr)


if __name__ == "__main__":
    main()
