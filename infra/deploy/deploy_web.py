#!/usr/bin/env python3
"""Uploads the built web UI (web/dist) to the stage's bucket and invalidates /index.html.

    deploy_web.py <stage> [--region R]

The bucket and distribution come from the outputs of the stack keel-<stage>. Hashed assets are
uploaded first (immutable, a year) and index.html last (no-cache), so a page never references an
asset that is not there yet. Old assets are kept: open pages may still load them.
"""
import argparse
import mimetypes
import os
import sys
import time

import boto3
from botocore.exceptions import ClientError

from common import ROOT, region_for, stack_name, stage_arg

DIST = os.path.join(ROOT, "web", "dist")
IMMUTABLE = "public, max-age=31536000, immutable"
TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
         ".html": "text/html; charset=utf-8", ".json": "application/json", ".svg": "image/svg+xml",
         ".map": "application/json", ".woff2": "font/woff2", ".ico": "image/x-icon", ".txt": "text/plain; charset=utf-8"}


def outputs(cfn, name: str) -> dict:
    try:
        stack = cfn.describe_stacks(StackName=name)["Stacks"][0]
    except ClientError as e:
        sys.exit(f"stack {name} not found ({e.response['Error']['Message']}): deploy it first (sam deploy)")
    found = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    missing = {"WebBucketName", "WebDistributionId", "WebUrl"} - found.keys()
    if missing:
        sys.exit(f"stack {name} has no outputs {sorted(missing)}: deploy the current template.yaml first")
    return found


def files() -> list[str]:
    keys = []
    for folder, _, names in os.walk(DIST):
        for n in names:
            # The build's .br / .gz copies are for the dev server; CloudFront compresses on its own.
            if n.endswith((".br", ".gz")):
                continue
            keys.append(os.path.relpath(os.path.join(folder, n), DIST).replace(os.sep, "/"))
    # Assets first, index.html last.
    return sorted(keys, key=lambda k: (not k.startswith("assets/"), k == "index.html", k))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("stage", type=stage_arg)
    parser.add_argument("--region", help="default: the stage's region in samconfig.toml")
    args = parser.parse_args()
    if not os.path.isfile(os.path.join(DIST, "index.html")):
        sys.exit(f"{DIST}/index.html not found: build the UI first (make web)")

    region = region_for(args.stage, args.region)
    out = outputs(boto3.client("cloudformation", region_name=region), stack_name(args.stage))
    bucket, distribution = out["WebBucketName"], out["WebDistributionId"]
    s3 = boto3.client("s3", region_name=region)

    # Hashed names never change content, so assets already in the bucket are skipped.
    present = set()
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="assets/"):
        present.update(o["Key"] for o in page.get("Contents", []))

    uploaded = skipped = 0
    for key in files():
        hashed = key.startswith("assets/")
        if hashed and key in present:
            skipped += 1
            continue
        ext = os.path.splitext(key)[1].lower()
        content_type = TYPES.get(ext) or mimetypes.guess_type(key)[0] or "application/octet-stream"
        with open(os.path.join(DIST, key), "rb") as body:
            s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type,
                          CacheControl=IMMUTABLE if hashed else "no-cache")
        uploaded += 1
    print(f"s3://{bucket}: {uploaded} uploaded, {skipped} unchanged assets kept")

    cloudfront = boto3.client("cloudfront", region_name=region)
    inv = cloudfront.create_invalidation(DistributionId=distribution, InvalidationBatch={
        "Paths": {"Quantity": 1, "Items": ["/index.html"]},
        "CallerReference": f"deploy-web-{time.time_ns()}",
    })["Invalidation"]
    print(f"invalidation {inv['Id']} of /index.html on {distribution} ({inv['Status']})")
    print(f"web UI: {out['WebUrl']}")


if __name__ == "__main__":
    main()
