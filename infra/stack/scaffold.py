#!/usr/bin/env python3
"""Writes into template.yaml what the code declares and the template still lacks, in the shape
every function of its kind has (`make scaffold`):

    scaffold.py DECLARATIONS.json [TEMPLATE]

DECLARATIONS.json is `keel-dev declarations`. For a declared function the template lacks, it adds
the function (binary named after the logical id: `AccountRevenueFunction` -> `account-revenue`),
its policy from the declared AWS calls, its errors and throttles alarms and its log group; for an
HTTP function one `HttpApi` event per operation; for a queue consumer its queue, dead-letter queue,
rule, queue policy, depth and age alarms, SQS event source, and the platform's view of the queue
(the system functions' `KEEL_QUEUE_*` variables and permissions). For a function the template has,
it adds the routes it lacks. It never changes what is there: review the diff, then `make test`
(conformance) says whether anything is still missing.
"""
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)

from provision import load_template  # noqa: E402

added = []


def kebab(logical_id):
    """`LeadConversionFunction` -> `lead-conversion`."""
    base = logical_id.removesuffix("Function")
    return re.sub(r"(?<!^)(?=[A-Z])", "-", base).lower()


def event_name(method, path):
    """`GET /api/companies/{company_id}/customers/{account_id}/overview` -> `GetCustomersAccountIdOverview`."""
    parts = [p for p in path.split("/") if p and p not in ("api", "companies", "{company_id}")]
    words = []
    for p in parts:
        words += [w.capitalize() for w in re.split(r"[^A-Za-z0-9]+", p.strip("{}")) if w]
    return method.capitalize() + "".join(words)


def route_events(routes, taken):
    out = ""
    for r in routes:
        name = event_name(r["method"], r["path"])
        while name in taken:
            name += "Route"
        taken.add(name)
        out += (f"        {name}:\n          Type: HttpApi\n          Properties:\n            ApiId: !Ref HttpApi\n"
                f"            Path: {r['path']}\n            Method: {r['method']}\n")
    return out


def due_variable(queue):
    """`TaskWorkQueue` -> `KEEL_DUE_QUEUE_TASK_WORK_QUEUE`, as the scheduler reads it."""
    return "KEEL_DUE_QUEUE_" + re.sub(r"(?<!^)(?=[A-Z])", "_", queue).upper()


def policy(calls, http, feeds=()):
    """Statements for the declared calls Keel knows the resources of; the rest is left to a person."""
    table = sorted(c for c in calls if c.startswith("dynamodb:"))
    out = '      Policies:\n        - Version: "2012-10-17"\n          Statement:\n'
    if table:
        out += "            - Effect: Allow\n              Action:\n"
        out += "".join(f"                - {a}\n" for a in table)
        if "dynamodb:Query" in table:
            out += '              Resource:\n                - !GetAtt Table.Arn\n                - !Sub "${Table.Arn}/index/*"\n'
        else:
            out += "              Resource: !GetAtt Table.Arn\n"
    if "secretsmanager:GetSecretValue" in calls and http:
        out += ("            - Effect: Allow\n              # read at run time and cached; rotates without a redeploy\n"
                "              Action: [secretsmanager:GetSecretValue]\n"
                '              Resource: !Sub "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:'
                'secret:keel/${Stage}/cursor-*"\n')
    if feeds and "sqs:SendMessage" in calls:
        out += "            - Effect: Allow\n              Action: [sqs:SendMessage]\n              Resource:\n"
        out += "".join(f"                - !GetAtt {q}.Arn\n" for q in feeds)
    for call in sorted(c for c in calls if not c.startswith("dynamodb:")):
        if call == "sqs:SendMessage" and feeds:
            continue
        if not (call == "secretsmanager:GetSecretValue" and http):
            print(f"scaffold: {call} is declared; add its statement with the resources it needs by hand",
                  file=sys.stderr)
    return out


def function_block(d):
    lid, slug = d["logical_id"], kebab(d["logical_id"])
    http = "http" in d["trigger"]
    out = (f"  {lid}:\n    Type: AWS::Serverless::Function\n    Metadata:\n      BuildMethod: rust-cargolambda\n"
           f"      BuildProperties:\n        Binary: {slug}\n    Properties:\n"
           f'      FunctionName: !Sub "keel-${{Stage}}-{slug}"\n      CodeUri: .\n'
           f"      Description: {lid.removesuffix('Function')} (describe what it does)\n")
    feeds = d["trigger"].get("schedule", {}).get("feeds", [])
    if http and "secretsmanager:GetSecretValue" in d["aws_calls"]:
        out += '      Environment:\n        Variables:\n          KEEL_CURSOR_SECRET_ID: !Sub "keel/${Stage}/cursor"\n'
    if feeds:
        out += "      Environment:\n        Variables:\n"
        out += "".join(f"          {due_variable(q)}: !Ref {q}\n" for q in feeds)
    out += policy(d["aws_calls"], http, feeds)
    out += "      Events:\n"
    if http:
        out += route_events(d["trigger"]["http"], set())
    elif "schedule" in d["trigger"]:
        out += (f"        Tick:\n          Type: Schedule\n          Properties:\n"
                f"            Schedule: {d['trigger']['schedule']['expression']}\n")
    else:
        queue = d["trigger"]["queue"]["queue"]
        out += (f"        Events:\n          Type: SQS\n          Properties:\n            Queue: !GetAtt {queue}.Arn\n"
                "            BatchSize: 10\n            MaximumBatchingWindowInSeconds: 1\n"
                "            FunctionResponseTypes: [ReportBatchItemFailures]\n")
    return out + "\n"


def alarm(name, slug, description, namespace, metric, dimension, ref, statistic, period, periods, threshold):
    return (f"  {name}:\n    Type: AWS::CloudWatch::Alarm\n    Properties:\n"
            f'      AlarmName: !Sub "keel-${{Stage}}-{slug}"\n      AlarmDescription: {description}\n'
            f"      Namespace: {namespace}\n      MetricName: {metric}\n"
            + (f"      Dimensions:\n        - {{ Name: {dimension}, Value: {ref} }}\n" if dimension else "")
            + f"      Statistic: {statistic}\n      Period: {period}\n"
            f"      EvaluationPeriods: {periods}\n      Threshold: {threshold}\n"
            "      ComparisonOperator: GreaterThanThreshold\n      TreatMissingData: notBreaching\n"
            "      AlarmActions: [!Ref AlarmTopic]\n\n")


def operations_blocks(d):
    lid, slug = d["logical_id"], kebab(d["logical_id"])
    prefix = lid.removesuffix("Function")
    what = slug.replace("-", " ")
    return (alarm(f"{prefix}ErrorsAlarm", f"{slug}-errors", f"The {what} function failed invocations (errors or timeouts).",
                  "AWS/Lambda", "Errors", "FunctionName", f"!Ref {lid}", "Sum", 300, 1, 0)
            + alarm(f"{prefix}ThrottlesAlarm", f"{slug}-throttles",
                    f"Invocations of the {what} function were throttled (concurrency limit).",
                    "AWS/Lambda", "Throttles", "FunctionName", f"!Ref {lid}", "Sum", 300, 1, 0)
            + f"  {prefix}LogGroup:\n    Type: AWS::Logs::LogGroup\n    Properties:\n"
              f'      LogGroupName: !Sub "/aws/lambda/keel-${{Stage}}-{slug}"\n'
              "      RetentionInDays: !Ref LogRetentionDays\n\n")


def refusals_blocks(d):
    """Refused events are acknowledged, never dead-lettered: a metric filter and an alarm see them."""
    prefix, slug = d["logical_id"].removesuffix("Function"), kebab(d["logical_id"])
    return (f"  {prefix}RefusedEventsFilter:\n    Type: AWS::Logs::MetricFilter\n    Properties:\n"
            f"      LogGroupName: !Ref {prefix}LogGroup\n"
            "      FilterPattern: '{ $.fields.message = \"event refused\" }'\n      MetricTransformations:\n"
            f'        - MetricNamespace: Keel\n          MetricName: !Sub "${{Stage}}-{slug}-refused-events"\n'
            '          MetricValue: "1"\n\n'
            + alarm(f"{prefix}RefusedEventsAlarm", f"{slug}-refused-events",
                    f"The {slug.replace('-', ' ')} consumer refused an event (kept on its claim; never retried).",
                    "Keel", f'!Sub "${{Stage}}-{slug}-refused-events"', None, None, "Sum", 300, 1, 0))


def rule_blocks(base, slug, queue, sources, types):
    """The bus rule that routes a consumer's events to its queue, and the queue policy letting it."""
    return (f"  {base}Rule:\n    Type: AWS::Events::Rule\n    Properties:\n"
            f'      Name: !Sub "keel-${{Stage}}-{slug}"\n      EventBusName: !Ref EventBus\n      EventPattern:\n'
            f'        source: [{sources}]\n        detail-type: [{types}]\n      Targets:\n'
            f"        - Id: {slug}\n          Arn: !GetAtt {queue}.Arn\n\n"
            f"  {base}QueuePolicy:\n    Type: AWS::SQS::QueuePolicy\n    Properties:\n      Queues: [!Ref {queue}]\n"
            '      PolicyDocument:\n        Version: "2012-10-17"\n        Statement:\n          - Effect: Allow\n'
            "            Principal: { Service: events.amazonaws.com }\n            Action: sqs:SendMessage\n"
            f"            Resource: !GetAtt {queue}.Arn\n            Condition:\n"
            f'              ArnEquals: {{ "aws:SourceArn": !GetAtt {base}Rule.Arn }}\n\n')


def queue_blocks(d):
    c = d["trigger"]["queue"]
    queue = c["queue"]
    base = queue.removesuffix("Queue")
    slug = kebab(base + "Function")
    dlq = f"{base}Dlq"
    types = ", ".join(f'"{t}"' for t in c["detail_types"])
    sources = ", ".join(f'"{t}"' for t in c["sources"])
    return (f"  {dlq}:\n    Type: AWS::SQS::Queue\n    Properties:\n"
            f'      QueueName: !Sub "keel-${{Stage}}-{slug}-dlq"\n      MessageRetentionPeriod: 1209600\n'
            "      SqsManagedSseEnabled: true\n\n"
            f"  {queue}:\n    Type: AWS::SQS::Queue\n    Properties:\n"
            f'      QueueName: !Sub "keel-${{Stage}}-{slug}"\n'
            "      # >= 6x the consumer's 10 s timeout\n      VisibilityTimeout: 60\n      MessageRetentionPeriod: 345600\n"
            f"      SqsManagedSseEnabled: true\n      RedrivePolicy:\n        deadLetterTargetArn: !GetAtt {dlq}.Arn\n"
            "        maxReceiveCount: 5\n\n"
            + (rule_blocks(base, slug, queue, sources, types) if c["sources"] else "")
            + alarm(f"{dlq}Alarm", f"{slug}-dlq-not-empty", f"Events the {slug} consumer could not process.",
                    "AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", f"!GetAtt {dlq}.QueueName",
                    "Maximum", 60, 1, 0)
            + alarm(f"{base}BacklogAlarm", f"{slug}-backlog", f"The oldest {slug} message has waited more than 5 minutes.",
                    "AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", f"!GetAtt {queue}.QueueName",
                    "Maximum", 60, 5, 300))


def platform_view(text, queue):
    """The system functions see and redrive every consumer queue: variables and permissions, added
    beside the system jobs queue's own."""
    base = queue.removesuffix("Queue")
    env = re.sub(r"(?<!^)(?=[A-Z])", "_", base).upper()
    dlq = f"{base}Dlq"
    text = text.replace(
        "          KEEL_QUEUE_SYSTEM_JOBS_DLQ: !Ref SystemJobsDlq\n",
        "          KEEL_QUEUE_SYSTEM_JOBS_DLQ: !Ref SystemJobsDlq\n"
        f"          KEEL_QUEUE_{env}_QUEUE: !Ref {queue}\n          KEEL_QUEUE_{env}_DLQ: !Ref {dlq}\n")
    text = text.replace("                - !GetAtt SystemJobsQueue.Arn\n",
                        f"                - !GetAtt SystemJobsQueue.Arn\n                - !GetAtt {queue}.Arn\n")
    return text.replace("                - !GetAtt SystemJobsDlq.Arn\n",
                        f"                - !GetAtt SystemJobsDlq.Arn\n                - !GetAtt {dlq}.Arn\n")


def add_routes(text, lid, routes, existing_names):
    """Appends `routes` to the end of `lid`'s Events."""
    start = text.index(f"\n  {lid}:\n") + 1
    events = text.index("      Events:\n", start)
    end = re.compile(r"\n\n  \S|\n\S").search(text, events).start() + 1
    return text[:end] + route_events(routes, existing_names) + text[end:]


def main():
    declarations_path = sys.argv[1]
    template_path = sys.argv[2] if len(sys.argv) > 2 else os.path.join(ROOT, "template.yaml")
    with open(declarations_path) as f:
        declared = json.load(f)
    template = load_template(template_path)
    resources = template["Resources"]
    with open(template_path) as f:
        text = f.read()
    new_resources = ""
    for d in declared:
        lid = d["logical_id"]
        if lid not in resources:
            if "stream" in d["trigger"]:
                print(f"scaffold: {lid} reads the table stream; add it by hand (see RelayFunction)", file=sys.stderr)
                continue
            new_resources += function_block(d) + operations_blocks(d)
            if "queue" in d["trigger"]:
                new_resources += queue_blocks(d) + refusals_blocks(d)
                text = platform_view(text, d["trigger"]["queue"]["queue"])
            kind = next(k for k in ("http", "queue", "schedule") if k in d["trigger"])
            added.append(f"{lid} ({ {'http': 'routes', 'queue': 'consumer', 'schedule': 'schedule'}[kind] }, alarms, log group)")
        elif "http" in d["trigger"]:
            events = resources[lid]["Properties"].get("Events", {})
            have = {(e["Properties"].get("Method", "").upper(), e["Properties"].get("Path"))
                    for e in events.values() if e.get("Type") == "HttpApi"}
            missing = [r for r in d["trigger"]["http"] if (r["method"], r["path"]) not in have]
            if missing:
                text = add_routes(text, lid, missing, set(events))
                added.extend(f"{lid}: {r['method']} {r['path']}" for r in missing)
    if new_resources:
        at = text.index("\nOutputs:\n")
        text = text[:at] + "\n" + new_resources.rstrip("\n") + "\n" + text[at:]
    with open(template_path, "w") as f:
        f.write(text)
    for a in added:
        print(f"scaffold: added {a}")
    print(f"scaffold: {len(added)} addition(s) to {os.path.relpath(template_path, ROOT)}")


if __name__ == "__main__":
    main()
