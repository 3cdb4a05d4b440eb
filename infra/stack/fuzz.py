#!/usr/bin/env python3
"""Fuzzes the running API against the OpenAPI document it serves (schemathesis).

    fuzz.py [KEEL_URL [DOCUMENT]]     (default: $KEEL_URL and the document it serves)

Signs up a company of its own through /api/auth/register and the link mailed through the local SES
(so the tokens' users exist and pass the standing check), adds administrators, a lead and a sales rep so that path ids are often real, then
runs schemathesis over every operation of the document with valid and invalid inputs (malformed,
oversized and other companies' path ids, wrong query values, wrong bodies and content types), and
fails on:

- not_a_server_error: any 5xx (bad input is never a server error);
- status_code_conformance: a status the operation does not document;
- content_type_conformance: a content type the response does not document (problems are
  application/problem+json);
- response_schema_conformance: a body that does not match the documented schema;
- response_headers_conformance: a documented header (Retry-After, ETag, Location) that does not
  match its schema.

Budget: a fixed seed, and a fixed number of generated cases for the whole document
(FUZZING_CASES, shared out among its operations, never fewer than MIN_EXAMPLES each) on top of the
examples and coverage phases, so the run's length grows only with the deterministic phases as
contexts add operations: about 55 s for 69 operations against the debug build on the 2-core machines
the suite runs on. Past MAX_SECONDS the run is stopped and fails rather than slowing every suite down. Requests rotate over a few administrators' tokens, so
the per-user rate limit (1,200 a minute) does not turn most of them into 429s (documented, but
they would test nothing else); the tenant's 6,000 a minute leaves room for them all.
"""
import itertools
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

SEED = 20261126
FUZZING_CASES = 2_400  # generated cases for the whole document, shared out among its operations
MIN_EXAMPLES = 15  # per operation, however many operations there are
MAX_EXAMPLES = 100  # per operation, however few
MAX_SECONDS = 180  # the run fails past this, rather than slowing every suite down
ADMINS = 4  # tokens to rotate over
CHECKS = ",".join([
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "response_headers_conformance",
])
SCHEMATHESIS = os.path.join(os.path.dirname(os.path.abspath(sys.executable)), "schemathesis")
PASSWORD = "Correct-Horse-7"


def call(base: str, method: str, path: str, body=None, token=None) -> dict:
    req = urllib.request.Request(base + path, method=method, data=json.dumps(body).encode() if body else None)
    req.add_header("content-type", "application/json")
    if token:
        req.add_header("authorization", f"Bearer {token}")
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read() or b"null")


def mailed_token(email: str, page: str) -> str:
    """The token of the latest `page` link the app mailed to `email` (moto keeps what SES sent)."""
    endpoint = os.environ["AWS_ENDPOINT_URL_SESV2"].rstrip("/")
    with urllib.request.urlopen(f"{endpoint}/moto-api/data.json", timeout=30) as r:
        messages = json.loads(r.read()).get("ses", {}).get("Message", [])
    found = [m for m in messages if email in m.get("destinations", {}).get("ToAddresses", [])]
    tokens = re.findall(rf"/{page}#token=([A-Za-z0-9_-]+)", found[-1]["body"]) if found else []
    if not tokens:
        raise SystemExit(f"fuzz: no {page} link was mailed to {email}")
    return tokens[-1]


def examples_per_operation(document: str) -> int:
    """FUZZING_CASES shared out among the document's operations, within MIN/MAX_EXAMPLES."""
    if document.startswith("http"):
        with urllib.request.urlopen(document, timeout=30) as r:
            spec = json.loads(r.read())
    else:
        with open(document) as f:
            spec = json.load(f)
    methods = {"get", "put", "post", "patch", "delete", "head", "options"}
    operations = sum(1 for item in spec.get("paths", {}).values() for m in item if m in methods)
    return max(MIN_EXAMPLES, min(MAX_EXAMPLES, FUZZING_CASES // max(operations, 1)))


def main() -> int:
    base = (sys.argv[1] if len(sys.argv) > 1 else os.environ["KEEL_URL"]).rstrip("/")
    document = os.path.abspath(sys.argv[2]) if len(sys.argv) > 2 else f"{base}/api/openapi.json"
    stamp = int(time.time() * 1000)
    email = lambda who: f"{who}-{stamp}@fuzz.example"  # noqa: E731
    call(base, "POST", "/api/auth/register", {
        "company_name": "Fuzz Co", "full_name": "Fuzz Admin", "email": email("admin"), "password": PASSWORD,
    })
    session = call(base, "POST", "/api/auth/verify-email",
                   {"token": mailed_token(email("admin"), "verify-email"), "password": PASSWORD})
    company, tokens = session["company_id"], [session["access_token"]]
    users = f"/api/companies/{company}/users"
    for n in range(1, ADMINS):
        # Added users are invited by email and choose their own password through the link.
        call(base, "POST", users, {"email": email(f"admin{n}"), "full_name": f"Fuzz Admin {n}", "role": "admin"},
             tokens[0])
        accepted = call(base, "POST", "/api/auth/password-reset/confirm", {
            "token": mailed_token(email(f"admin{n}"), "accept-invitation"), "new_password": PASSWORD})
        tokens.append(accepted["access_token"])
    rep = call(base, "POST", users, {"email": email("rep"), "full_name": "Fuzz Rep", "role": "sales_rep"}, tokens[0])
    lead = call(base, "POST", f"/api/companies/{company}/leads", {
        "first_name": "Fuzz", "last_name": "Lead", "email": email("lead"),
        "source": "Web", "campaign": "Fuzz", "medium": "Organic",
    }, tokens[0])

    with tempfile.TemporaryDirectory() as tmp:
        config = os.path.join(tmp, "schemathesis.toml")
        # Real ids most of the time, so requests get past the company check to each handler's own
        # validation; generated ones (malformed, oversized, other companies') the rest of the time.
        # The administrators' ids are not given: the fuzzer must not deactivate the callers.
        with open(config, "w") as f:
            f.write(f"""
[cache]
enabled = false

[dictionaries]
company = {{ values = ["{company}"] }}
lead = {{ values = ["{lead['id']}"] }}
user = {{ values = ["{rep['user_id']}"] }}
queue = {{ values = ["dashboard-counters"] }}
slug = {{ values = ["validation", "not-found"] }}

[parameters]
"path.company_id" = {{ dictionary = "company", probability = 0.85 }}
"path.lead_id" = {{ dictionary = "lead", probability = 0.5 }}
"path.user_id" = {{ dictionary = "user", probability = 0.5 }}
"path.queue" = {{ dictionary = "queue", probability = 0.5 }}
"path.slug" = {{ dictionary = "slug", probability = 0.5 }}
""")
        cmd = [
            SCHEMATHESIS, "--config-file", config, "--no-color", "run", document,
            "--url", base,
            "--checks", CHECKS,
            "--phases", "examples,coverage,fuzzing",
            "--mode", "all",
            "--max-examples", str(examples_per_operation(document)),
            "--seed", str(SEED),
            "--continue-on-failure",
            "--workers", "1",
            "--request-timeout", "10",
            "--suppress-health-check", "all",
            "--warnings", "off",
        ]
        if os.environ.get("KEEL_FUZZ_REPORT_DIR"):
            cmd += ["--report", "junit,har", "--report-dir", os.path.abspath(os.environ["KEEL_FUZZ_REPORT_DIR"])]
        env = dict(os.environ, SCHEMATHESIS_HOOKS=os.path.abspath(__file__), KEEL_FUZZ_TOKENS=" ".join(tokens))
        started = time.monotonic()
        try:
            code = subprocess.call(cmd, env=env, cwd=tmp, timeout=MAX_SECONDS)
        except subprocess.TimeoutExpired:
            print(f"fuzz: over its {MAX_SECONDS} s budget: lower FUZZING_CASES in {__file__}", flush=True)
            return 1
        print(f"fuzz: schemathesis exited {code} after {time.monotonic() - started:.0f} s", flush=True)
        return code


if __name__ == "__main__":
    sys.exit(main())
elif os.environ.get("KEEL_FUZZ_TOKENS"):
    # Loaded by schemathesis as its hooks file (SCHEMATHESIS_HOOKS): each request carries the next
    # administrator's token in turn.
    import schemathesis

    @schemathesis.auth(refresh_interval=None)
    class RotatingTokens:
        tokens = itertools.cycle(os.environ["KEEL_FUZZ_TOKENS"].split())
        lock = threading.Lock()

        def get(self, case, context):
            with self.lock:
                return next(self.tokens)

        def set(self, case, data, context):
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}
