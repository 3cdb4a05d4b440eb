"""Creates the local table, bus, queues and rules from template.yaml.

template.yaml is the one definition of Keel's resources; this module reads it (keeping the
CloudFormation intrinsic tags) and makes the same resources on DynamoDB Local and moto, so the local
stack cannot drift from the deployed one. It returns the functions' environment (Globals) with every
reference resolved to the local physical names.
"""
import json
import re

import boto3
import yaml

ACCOUNT = "123456789012"


class CfnLoader(yaml.SafeLoader):
    pass


def _tag(loader, tag_suffix, node):
    name = {"Ref": "Ref", "Condition": "Condition"}.get(tag_suffix, f"Fn::{tag_suffix}")
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if tag_suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


CfnLoader.add_multi_constructor("!", _tag)


def load_template(path):
    with open(path) as f:
        return yaml.load(f, Loader=CfnLoader)


def local_parameters(env):
    """The values samconfig.toml passes for a deployed stage's required parameters, for this machine:
    account mail comes from an address the local SES (moto) has verified, and its links open the
    web app where `make run` serves it."""
    port = env.get("KEEL_PORT", "3000")
    return {"MailFrom": "no-reply@keel.test", "WebOrigin": env.get("KEEL_WEB_ORIGIN", f"http://127.0.0.1:{port}")}


class Resolver:
    def __init__(self, template, stage, region, given=None):
        self.template = template
        self.params = {"Stage": stage, "AWS::Region": region, "AWS::AccountId": ACCOUNT,
                       "AWS::StackName": f"keel-{stage}", "AWS::Partition": "aws", **(given or {})}
        for name, spec in template.get("Parameters", {}).items():
            self.params.setdefault(name, spec.get("Default"))
        self.physical = {}  # logical id -> physical name / id
        self.attrs = {}     # (logical id, attribute) -> value

    def __call__(self, value):
        if isinstance(value, dict) and len(value) == 1:
            (key, arg), = value.items()
            if key == "Ref":
                return self.ref(arg)
            if key == "Fn::GetAtt":
                return self.attrs[(arg[0], arg[1])]
            if key == "Fn::Sub":
                return self.sub(arg)
            if key == "Fn::Join":
                return arg[0].join(self(v) for v in arg[1])
        if isinstance(value, dict):
            return {k: self(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self(v) for v in value]
        return value

    def ref(self, name):
        if name in self.params:
            return self.params[name]
        return self.physical[name]

    def sub(self, arg):
        text, extra = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])

        def one(match):
            name = match.group(1)
            if name in extra:
                return str(self(extra[name]))
            if "." in name and not name.startswith("AWS::"):
                logical, attr = name.split(".", 1)
                return str(self.attrs[(logical, attr)])
            return str(self.ref(name))

        return re.sub(r"\$\{([^}!]+)\}", one, text)


def _resources(template, kind):
    return [(lid, r) for lid, r in template["Resources"].items() if r["Type"] == kind]


def provision(template_path, stage, env):
    template = load_template(template_path)
    region = env["AWS_REGION"]
    res = Resolver(template, stage, region, local_parameters(env))
    creds = dict(aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
                 aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"], region_name=region)
    ddb = boto3.client("dynamodb", endpoint_url=env["AWS_ENDPOINT_URL_DYNAMODB"], **creds)
    sqs = boto3.client("sqs", endpoint_url=env["AWS_ENDPOINT_URL_SQS"], **creds)
    events = boto3.client("events", endpoint_url=env["AWS_ENDPOINT_URL_EVENTBRIDGE"], **creds)

    for lid, r in _resources(template, "AWS::DynamoDB::Table"):
        p = res(r["Properties"])
        args = dict(TableName=p["TableName"], AttributeDefinitions=p["AttributeDefinitions"],
                    KeySchema=p["KeySchema"], BillingMode=p.get("BillingMode", "PAY_PER_REQUEST"))
        if p.get("GlobalSecondaryIndexes"):
            args["GlobalSecondaryIndexes"] = p["GlobalSecondaryIndexes"]
        if p.get("StreamSpecification"):
            args["StreamSpecification"] = {"StreamEnabled": True, **p["StreamSpecification"]}
        out = ddb.create_table(**args)["TableDescription"]
        ttl = p.get("TimeToLiveSpecification")
        if ttl:
            ddb.update_time_to_live(TableName=p["TableName"], TimeToLiveSpecification=ttl)
        res.physical[lid] = p["TableName"]
        res.attrs[(lid, "Arn")] = out["TableArn"]
        res.attrs[(lid, "StreamArn")] = out.get("LatestStreamArn", "")

    # Buckets the functions use (named by the template); the web bucket is only deployment's.
    s3 = boto3.client("s3", endpoint_url=env["AWS_ENDPOINT_URL_S3"], **creds)
    for lid, r in _resources(template, "AWS::S3::Bucket"):
        p = res(r["Properties"])
        if "BucketName" not in p:
            continue
        s3.create_bucket(Bucket=p["BucketName"], **({} if region == "us-east-1" else
                         {"CreateBucketConfiguration": {"LocationConstraint": region}}))
        cors = p.get("CorsConfiguration")
        if cors:
            # CloudFormation's names for a rule's fields, as the S3 API spells them.
            names = {"Id": "ID", "MaxAge": "MaxAgeSeconds"}
            rules = [{names.get(k, k): v for k, v in rule.items()} for rule in cors["CorsRules"]]
            # The web origin is a loopback address here, on whichever port the dev server took.
            for rule in rules:
                rule["AllowedOrigins"] = [re.sub(r"^(http://(127\.0\.0\.1|localhost)):\d+$", r"\1:*", o)
                                          for o in rule.get("AllowedOrigins", [])]
            s3.put_bucket_cors(Bucket=p["BucketName"], CORSConfiguration={"CORSRules": rules})
        res.physical[lid] = p["BucketName"]
        res.attrs[(lid, "Arn")] = f"arn:aws:s3:::{p['BucketName']}"

    for lid, r in _resources(template, "AWS::Events::EventBus"):
        p = res(r["Properties"])
        arn = events.create_event_bus(Name=p["Name"])["EventBusArn"]
        res.physical[lid] = p["Name"]
        res.attrs[(lid, "Arn")] = arn
        res.attrs[(lid, "Name")] = p["Name"]

    # Queues first without redrive (a DLQ must exist before a queue can point at it).
    queues = _resources(template, "AWS::SQS::Queue")
    pending = list(queues)
    while pending:
        progressed = False
        for lid, r in list(pending):
            try:
                p = res(r["Properties"])
            except KeyError:
                continue  # refers to a queue not created yet
            attrs = {}
            for key in ("VisibilityTimeout", "MessageRetentionPeriod", "DelaySeconds"):
                if key in p:
                    attrs[key] = str(p[key])
            if "RedrivePolicy" in p:
                attrs["RedrivePolicy"] = json.dumps(p["RedrivePolicy"])
            url = sqs.create_queue(QueueName=p["QueueName"], Attributes=attrs)["QueueUrl"]
            arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            res.physical[lid] = url
            res.attrs[(lid, "Arn")] = arn
            res.attrs[(lid, "QueueName")] = p["QueueName"]
            res.attrs[(lid, "QueueUrl")] = url
            pending.remove((lid, r))
            progressed = True
        if not progressed:
            raise RuntimeError(f"queues with unresolvable references: {[lid for lid, _ in pending]}")

    for lid, r in _resources(template, "AWS::Events::Rule"):
        props = dict(r["Properties"])
        targets = props.pop("Targets", [])
        p = res(props)
        arn = events.put_rule(Name=p["Name"], EventBusName=p.get("EventBusName", "default"),
                              EventPattern=json.dumps(p["EventPattern"]), State="ENABLED")["RuleArn"]
        events.put_targets(Rule=p["Name"], EventBusName=p.get("EventBusName", "default"),
                           Targets=[{"Id": t["Id"], "Arn": res(t["Arn"])} for t in targets])
        res.physical[lid] = p["Name"]
        res.attrs[(lid, "Arn")] = arn

    env_out = {}
    variables = template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
    for name, value in variables.items():
        resolved = res(value)
        if isinstance(resolved, str) and "{{resolve:" in resolved:
            continue  # a secret reference; the launcher supplies the local value
        env_out[name] = str(resolved)
    # Locally every function runs in one process: each one's own settings join the shared ones.
    for _, r in _resources(template, "AWS::Serverless::Function"):
        for name, value in r["Properties"].get("Environment", {}).get("Variables", {}).items():
            resolved = res(value)
            if name.endswith("_SECRET_ID") or (isinstance(resolved, str) and "{{resolve:" in resolved):
                continue  # secrets: the launcher puts them into the local Secrets Manager
            if env_out.get(name, str(resolved)) != str(resolved):
                raise RuntimeError(f"{name} differs between functions; locally they share one environment")
            env_out[name] = str(resolved)
    for lid, _ in queues:
        env_out[f"KEEL_QUEUE_{_snake(lid)}"] = res.physical[lid]
    env_out["KEEL_WEB_HEADERS"] = json.dumps(web_headers(template, res, env))
    # The sender of account mail is a verified SES identity, as scripts/bootstrap-stage.sh makes it in AWS.
    if "KEEL_MAIL_FROM" in env_out:
        ses = boto3.client("sesv2", endpoint_url=env["AWS_ENDPOINT_URL_SESV2"], **creds)
        ses.create_email_identity(EmailIdentity=env_out["KEEL_MAIL_FROM"])
    return env_out, functions(template, res)


def web_headers(template, res=None, env=None):
    """The security headers CloudFront adds to the UI and the API (the ResponseHeadersPolicy), for the
    dev server to send too: what the browser enforces locally is what it will enforce deployed. HSTS is
    left out (browsers ignore it over plain HTTP). A bucket's host the page may send to is the local
    S3's address here."""
    headers = {}
    for _, r in _resources(template, "AWS::CloudFront::ResponseHeadersPolicy"):
        config = r["Properties"]["ResponseHeadersPolicyConfig"].get("SecurityHeadersConfig", {})
        if "ContentTypeOptions" in config:
            headers["x-content-type-options"] = "nosniff"
        if "FrameOptions" in config:
            headers["x-frame-options"] = config["FrameOptions"]["FrameOption"]
        if "ReferrerPolicy" in config:
            headers["referrer-policy"] = config["ReferrerPolicy"]["ReferrerPolicy"]
        if "ContentSecurityPolicy" in config:
            csp = config["ContentSecurityPolicy"]["ContentSecurityPolicy"]
            csp = res(csp) if res is not None else csp
            if env is not None:
                for lid, bucket in _resources(template, "AWS::S3::Bucket"):
                    if lid in res.physical:
                        host = f"https://{res.physical[lid]}.s3.{env['AWS_REGION']}.amazonaws.com"
                        csp = csp.replace(host, env["AWS_ENDPOINT_URL_S3"])
            headers["content-security-policy"] = " ".join(csp.split())
        for item in r["Properties"]["ResponseHeadersPolicyConfig"].get("CustomHeadersConfig", {}).get("Items", []):
            headers[item["Header"].lower()] = item["Value"]
    return headers


def functions(template, res):
    """What Lambda and API Gateway would do with each function, resolved to local names: its HTTP
    routes, its queue and stream event sources with their batch settings and filters, its timeout.
    The dev server routes and the local plumbing delivers from this, not from lists of their own."""
    globals_ = template.get("Globals", {}).get("Function", {})
    out = {}
    for lid, r in _resources(template, "AWS::Serverless::Function"):
        props = r["Properties"]
        fn = {"timeout": props.get("Timeout", globals_.get("Timeout", 3)), "http": [], "queues": [], "streams": []}
        for event in props.get("Events", {}).values():
            p = event.get("Properties", {})
            if event["Type"] == "HttpApi":
                fn["http"].append({"method": p["Method"].upper(), "path": p["Path"]})
            elif event["Type"] == "SQS":
                queue = p["Queue"]["Fn::GetAtt"][0]
                fn["queues"].append({"queue": queue, "url": res.physical[queue], "batch_size": p.get("BatchSize", 10),
                                     "report_failures": "ReportBatchItemFailures" in p.get("FunctionResponseTypes", [])})
            elif event["Type"] == "DynamoDB":
                filters = [f["Pattern"] for f in p.get("FilterCriteria", {}).get("Filters", [])]
                on_failure = p.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
                fn["streams"].append({"batch_size": p.get("BatchSize", 100), "filters": filters,
                                      "report_failures": "ReportBatchItemFailures" in p.get("FunctionResponseTypes", []),
                                      "max_retries": p.get("MaximumRetryAttempts", -1),
                                      "on_failure": res.physical[on_failure["Fn::GetAtt"][0]] if on_failure else None})
        out[lid] = fn
    return out


def _snake(logical_id):
    return re.sub(r"(?<!^)(?=[A-Z])", "_", logical_id).upper()


def secrets(stage, env, values):
    """Puts the stage's secrets into the local Secrets Manager (moto), as scripts/bootstrap-stage.sh
    does in AWS, and returns the `*_SECRET_ID` settings the functions read them by. The signing key
    also stays in the environment for local tooling (test tokens, `keel-dev token`)."""
    creds = dict(aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
                 aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"], region_name=env["AWS_REGION"])
    sm = boto3.client("secretsmanager", endpoint_url=env["AWS_ENDPOINT_URL_SECRETS_MANAGER"], **creds)
    out = {}
    for name, value in values.items():
        secret_id = f"keel/{stage}/{name}"
        sm.create_secret(Name=secret_id, SecretString=json.dumps(value))
        out[f"KEEL_{name.upper()}_SECRET_ID"] = secret_id
    return out
