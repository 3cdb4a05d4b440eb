"""Shared by the deploy helpers: which region and stack a stage lives in."""
import argparse
import os
import re
import sys
import tomllib

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))


def stage_arg(value: str) -> str:
    # "local" has no AWS stack; it runs on DynamoDB Local + moto (infra/stack).
    if not re.fullmatch(r"[a-z][a-z0-9-]*", value) or value == "local":
        raise argparse.ArgumentTypeError(f"not a deployable stage: {value!r}")
    return value


def region_for(stage: str, explicit: str | None) -> str:
    """The region `sam deploy --config-env <stage>` deploys to, so the helpers find the same stack."""
    if explicit:
        return explicit
    with open(os.path.join(ROOT, "samconfig.toml"), "rb") as f:
        config = tomllib.load(f)
    region = config.get(stage, {}).get("deploy", {}).get("parameters", {}).get("region")
    region = region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if not region:
        sys.exit(f"no region for stage {stage}: set it in samconfig.toml [{stage}.deploy.parameters] or pass --region")
    return region


def parameter_for(stage: str, name: str) -> str | None:
    """A parameter `sam deploy --config-env <stage>` passes (samconfig.toml's parameter_overrides)."""
    with open(os.path.join(ROOT, "samconfig.toml"), "rb") as f:
        config = tomllib.load(f)
    overrides = config.get(stage, {}).get("deploy", {}).get("parameters", {}).get("parameter_overrides", "")
    found = re.search(rf'\b{name}=(?:"([^"]*)"|(\S+))', overrides)
    return (found.group(1) if found.group(1) is not None else found.group(2)) if found else None


def stack_name(stage: str) -> str:
    return f"keel-{stage}"
