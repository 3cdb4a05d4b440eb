#!/usr/bin/env python3
"""Holds template.yaml and samconfig.toml to what the code declares and does, so that green
locally means deployable. Run by `make test` after the test suite:

    conformance.py DECLARATIONS.json CALLS.log [TEMPLATE]

DECLARATIONS.json is `keel-dev declarations` (every function's trigger, routes, consumer and AWS
calls); CALLS.log is what the functions really called during the suite (KEEL_AWS_CALL_LOG, lines
`function<TAB>service:Action<TAB>resource`). Every failed rule is printed; the exit code is 1 if any.
"""
import json
import os
import re
import sys
import tomllib

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)

from provision import load_template  # noqa: E402

MIN_MAX_RECEIVE = 5
SETTLE_MARGIN_SECONDS = 5

problems = []


def fail(message):
    problems.append(message)


def getatt(value, attribute):
    """The logical id in `!GetAtt X.<attribute>`, or None."""
    if isinstance(value, dict) and "Fn::GetAtt" in value and value["Fn::GetAtt"][1] == attribute:
        return value["Fn::GetAtt"][0]
    return None


def as_list(value):
    return value if isinstance(value, list) else [value]


def resource_kinds(resource, template):
    """What an IAM statement's resource is: the table, its indexes, a queue (by local name) or '*'."""
    if getatt(resource, "Arn") == "Table":
        return {"table"}
    if isinstance(resource, dict) and "Fn::Sub" in resource and resource["Fn::Sub"] == "${Table.Arn}/index/*":
        return {"index"}
    queue = getatt(resource, "Arn")
    if queue and template["Resources"].get(queue, {}).get("Type") == "AWS::SQS::Queue":
        name = template["Resources"][queue]["Properties"]["QueueName"]
        return {name["Fn::Sub"].replace("${Stage}", "local") if isinstance(name, dict) else name}
    return {"*"}


def granted(function, template):
    """(action, resource kind) pairs a function's policies allow."""
    out = set()
    for policy in function["Properties"].get("Policies", []):
        if "EventBridgePutEventsPolicy" in policy:
            out.add(("events:PutEvents", "*"))
            continue
        for statement in policy.get("Statement", []):
            if statement.get("Effect") != "Allow":
                continue
            kinds = set()
            for resource in as_list(statement["Resource"]):
                kinds |= resource_kinds(resource, template)
            for action in as_list(statement["Action"]):
                out |= {(action, kind) for kind in kinds}
    return out


def check_functions(template, declared):
    functions = {lid: r for lid, r in template["Resources"].items() if r["Type"] == "AWS::Serverless::Function"}
    for lid in sorted(set(functions) - set(declared)):
        fail(f"{lid} is in template.yaml but no crate declares it (infra/src/registry.rs)")
    for lid in sorted(set(declared) - set(functions)):
        fail(f"{lid} is declared but template.yaml does not deploy it")
    return functions


def check_routes(functions, declared):
    owner = {}
    for lid, f in functions.items():
        for event in f["Properties"].get("Events", {}).values():
            if event["Type"] == "HttpApi":
                p = event["Properties"]
                owner.setdefault((p["Method"].upper(), p["Path"]), []).append(lid)
    served = set()
    for lid, d in declared.items():
        for op in d["trigger"].get("http", []):
            key = (op["method"], op["path"])
            served.add(key)
            routed = owner.get(key, []) + owner.get(("ANY", op["path"]), [])
            if not routed:
                fail(f"{op['method']} {op['path']} ({lid}) has no HttpApi route in template.yaml: 404 in AWS")
            elif routed != [lid]:
                fail(f"{op['method']} {op['path']} is served by {lid} but routed to {routed}")
    for (method, path), lids in sorted(owner.items()):
        if (method, path) not in served and not any((m, path) in served for m in ("GET", "POST", "PATCH", "PUT", "DELETE")):
            fail(f"template.yaml routes {method} {path} to {lids}, but no operation of the code serves it")


def alarms_on(template, metric, queue):
    for r in template["Resources"].values():
        if r["Type"] != "AWS::CloudWatch::Alarm":
            continue
        p = r["Properties"]
        dims = [getatt(d.get("Value"), "QueueName") for d in p.get("Dimensions", [])]
        if p.get("MetricName") == metric and queue in dims and p.get("AlarmActions"):
            return True
    return False


def refusals_alarmed(template, function):
    """Whether the function's log group counts "event refused" lines into a metric an alarm watches."""
    resources = template["Resources"]
    name = function["Properties"].get("FunctionName", {})
    name = name.get("Fn::Sub") if isinstance(name, dict) else name
    groups = {lid for lid, r in resources.items() if r["Type"] == "AWS::Logs::LogGroup"
              and r["Properties"].get("LogGroupName", {}).get("Fn::Sub") == f"/aws/lambda/{name}"}
    metrics = set()
    for r in resources.values():
        p = r.get("Properties", {})
        if (r["Type"] == "AWS::Logs::MetricFilter" and p.get("LogGroupName", {}).get("Ref") in groups
                and "event refused" in p.get("FilterPattern", "")):
            metrics |= {json.dumps(t["MetricName"], sort_keys=True) for t in p.get("MetricTransformations", [])}
    return any(r["Type"] == "AWS::CloudWatch::Alarm" and r["Properties"].get("AlarmActions")
               and json.dumps(r["Properties"].get("MetricName"), sort_keys=True) in metrics
               for r in resources.values())


def check_consumers(template, functions, declared):
    resources = template["Resources"]
    default_timeout = template.get("Globals", {}).get("Function", {}).get("Timeout", 3)
    for lid, d in declared.items():
        f = functions.get(lid)
        if f is None:
            continue
        events = f["Properties"].get("Events", {}).values()
        timeout = f["Properties"].get("Timeout", default_timeout)
        if "queue" in d["trigger"]:
            c = d["trigger"]["queue"]
            queue = c["queue"]
            sources = [e for e in events if e["Type"] == "SQS" and getatt(e["Properties"].get("Queue"), "Arn") == queue]
            if not sources:
                fail(f"{lid} consumes {queue} but has no SQS event source on it")
                continue
            for e in sources:
                if "ReportBatchItemFailures" not in e["Properties"].get("FunctionResponseTypes", []):
                    fail(f"{lid}: the SQS event source on {queue} lacks ReportBatchItemFailures")
            q = resources.get(queue, {}).get("Properties", {})
            redrive = q.get("RedrivePolicy", {})
            dlq = getatt(redrive.get("deadLetterTargetArn"), "Arn")
            if not dlq or resources.get(dlq, {}).get("Type") != "AWS::SQS::Queue":
                fail(f"{queue} has no dead-letter queue")
            if int(redrive.get("maxReceiveCount", 0)) < MIN_MAX_RECEIVE:
                fail(f"{queue}: maxReceiveCount must be at least {MIN_MAX_RECEIVE}")
            if int(q.get("VisibilityTimeout", 30)) < 6 * int(timeout):
                fail(f"{queue}: VisibilityTimeout must be at least 6x {lid}'s timeout ({6 * int(timeout)} s)")
            rules = [r for r in resources.values() if r["Type"] == "AWS::Events::Rule"
                     and any(getatt(t.get("Arn"), "Arn") == queue for t in r["Properties"].get("Targets", []))]
            patterns = [r["Properties"].get("EventPattern", {}) for r in rules]
            fed = [s for s, e in declared.items() if queue in e["trigger"].get("schedule", {}).get("feeds", [])]
            if not c["sources"] and not fed:
                fail(f"{queue} has no event sources: no bus rule and no scheduled function feeding it")
            elif c["sources"] and not any(set(p.get("detail-type", [])) == set(c["detail_types"])
                         and set(p.get("source", [])) == set(c["sources"]) for p in patterns):
                fail(f"no rule sends {sorted(c['sources'])} {sorted(c['detail_types'])} to {queue} (found {patterns})")
            if dlq and not alarms_on(template, "ApproximateNumberOfMessagesVisible", dlq):
                fail(f"{dlq} has no depth alarm with an action")
            if not alarms_on(template, "ApproximateAgeOfOldestMessage", queue):
                fail(f"{queue} has no age-of-oldest-message alarm with an action")
            if not refusals_alarmed(template, f):
                fail(f"{lid}: refused events are acknowledged, not dead-lettered: its log group needs a metric filter "
                     f'on "event refused" with an alarm on that metric')
        if "schedule" in d["trigger"]:
            expression = d["trigger"]["schedule"]["expression"]
            if not any(e["Type"] == "Schedule" and e["Properties"].get("Schedule") == expression for e in events):
                fail(f"{lid} runs on a schedule ({expression}) but has no Schedule event with it")
            variables = f["Properties"].get("Environment", {}).get("Variables", {})
            for queue in d["trigger"]["schedule"]["feeds"]:
                env = "KEEL_DUE_QUEUE_" + re.sub(r"(?<!^)(?=[A-Z])", "_", queue).upper()
                if variables.get(env) != {"Ref": queue}:
                    fail(f"{lid} feeds {queue} but is not given it as {env}: !Ref {queue}")
        if "stream" in d["trigger"]:
            sources = [e for e in events if e["Type"] == "DynamoDB"]
            if not sources:
                fail(f"{lid} reads the table stream but has no DynamoDB event source")
            for e in sources:
                p = e["Properties"]
                if "ReportBatchItemFailures" not in p.get("FunctionResponseTypes", []):
                    fail(f"{lid}: the stream event source lacks ReportBatchItemFailures")
                if not p.get("FilterCriteria"):
                    fail(f"{lid}: the stream event source has no FilterCriteria (it would see every write)")
                retries = int(p.get("MaximumRetryAttempts", -1))
                if not 0 <= retries <= 10000:
                    fail(f"{lid}: the stream event source retries without bound (MaximumRetryAttempts {retries}): "
                         f"one failing record would hold its shard until the record expires")
                target = getatt(p.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination"), "Arn")
                if not target:
                    fail(f"{lid}: the stream event source has no on-failure destination")
                elif not alarms_on(template, "ApproximateNumberOfMessagesVisible", target):
                    fail(f"{lid}: its on-failure destination {target} has no depth alarm with an action")


def check_operations(template, functions):
    """Every function has its Errors and Throttles alarms and a log group with retention."""
    resources = template["Resources"]
    alarms = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::CloudWatch::Alarm"]
    groups = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::Logs::LogGroup"]
    for lid, f in functions.items():
        for metric in ("Errors", "Throttles"):
            if not any(a.get("MetricName") == metric and a.get("AlarmActions")
                       and any(d.get("Value") == {"Ref": lid} for d in a.get("Dimensions", [])) for a in alarms):
                fail(f"{lid} has no {metric} alarm with an action")
        name = f["Properties"].get("FunctionName")
        expected = {"Fn::Sub": f"/aws/lambda/{name['Fn::Sub']}"} if isinstance(name, dict) else f"/aws/lambda/{name}"
        if not any(g.get("LogGroupName") == expected and g.get("RetentionInDays") for g in groups):
            fail(f"{lid} has no log group with retention ({expected})")


def check_queue_settings(template, functions, declared):
    """A function that reads consumer queues from `KEEL_QUEUE_*` (system status, redrive) is given
    every consumer queue and its DLQ, so none is missing from what operators see and redrive."""
    resources = template["Resources"]
    wanted = set()
    for d in declared.values():
        queue = d["trigger"].get("queue", {}).get("queue")
        if queue:
            wanted.add(queue)
            dlq = getatt(resources[queue]["Properties"].get("RedrivePolicy", {}).get("deadLetterTargetArn"), "Arn")
            if dlq:
                wanted.add(dlq)
    for lid, f in functions.items():
        env = f["Properties"].get("Environment", {}).get("Variables", {})
        given = {v["Ref"] for k, v in env.items() if k.startswith("KEEL_QUEUE_") and isinstance(v, dict) and "Ref" in v}
        if given:
            for queue in sorted(wanted - given):
                fail(f"{lid} reads consumer queues from KEEL_QUEUE_* but is not given {queue}")


def check_iam(template, functions, declared, calls):
    for lid, d in declared.items():
        f = functions.get(lid)
        if f is None:
            continue
        allowed = granted(f, template)
        actions = {a for a, _ in allowed}
        declared_calls = set(d["aws_calls"])
        for a in sorted(declared_calls - actions):
            fail(f"{lid} declares {a} but its IAM policy does not allow it")
        for a in sorted(actions - declared_calls):
            fail(f"{lid}'s IAM policy allows {a}, which it does not declare (least privilege)")
        made = calls.get(lid, set())
        for action, resource in sorted(made):
            if (action, resource) not in allowed and (action, "*") not in allowed:
                fail(f"{lid} called {action} on {resource} in the tests, which its IAM policy does not allow: "
                     f"AccessDenied in AWS")
            if action not in declared_calls:
                fail(f"{lid} called {action}, which it does not declare")
        for a in sorted(actions - {a for a, _ in made}):
            fail(f"{lid}'s IAM policy allows {a}, which it never called in the test suite (least privilege, "
                 f"or a path no test covers)")


def check_samconfig(template):
    with open(os.path.join(ROOT, "samconfig.toml"), "rb") as f:
        config = tomllib.load(f)
    required = sorted(n for n, p in template.get("Parameters", {}).items() if "Default" not in p)
    for env, commands in config.items():
        if not isinstance(commands, dict):
            continue  # `version`
        deploy = commands.get("deploy", {}).get("parameters")
        if not isinstance(deploy, dict):
            continue
        given = set(re.findall(r'(\w+)=', deploy.get("parameter_overrides", "")))
        for name in required:
            if name not in given:
                fail(f"samconfig.toml [{env}] does not pass the required parameter {name}")


def check_settle_window(template, functions, declared):
    globals_ = template.get("Globals", {}).get("Function", {})
    settle = globals_.get("Environment", {}).get("Variables", {}).get("KEEL_FEED_SETTLE_SECONDS")
    writers = [lid for lid, d in declared.items() if d["writes_events"]]
    longest = max((int(functions[lid]["Properties"].get("Timeout", globals_.get("Timeout", 3)))
                   for lid in writers if lid in functions), default=0)
    if settle is None or int(settle) < longest + SETTLE_MARGIN_SECONDS:
        fail(f"KEEL_FEED_SETTLE_SECONDS ({settle}) must be at least the longest timeout of a function that writes "
             f"events ({longest} s) + {SETTLE_MARGIN_SECONDS} s, or the feed can skip a late commit")


def main():
    declarations_path, calls_path = sys.argv[1], sys.argv[2]
    template = load_template(sys.argv[3] if len(sys.argv) > 3 else os.path.join(ROOT, "template.yaml"))
    with open(declarations_path) as f:
        declared = {d["logical_id"]: d for d in json.load(f)}
    calls = {}
    with open(calls_path) as f:
        for line in f:
            function, action, resource = line.rstrip("\n").split("\t")
            calls.setdefault(function, set()).add((action, resource))
    functions = check_functions(template, declared)
    check_routes(functions, declared)
    check_consumers(template, functions, declared)
    check_operations(template, functions)
    check_queue_settings(template, functions, declared)
    check_iam(template, functions, declared, calls)
    check_samconfig(template)
    check_settle_window(template, functions, declared)
    for p in problems:
        print(f"conformance: {p}", file=sys.stderr)
    print(f"conformance: {len(declared)} functions checked against template.yaml and samconfig.toml, "
          f"{sum(len(c) for c in calls.values())} recorded AWS calls; {len(problems)} problem(s)", file=sys.stderr)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
