#!/usr/bin/env python3
"""Creates, once per stage, what template.yaml expects to exist out of band.

    bootstrap_stage.py <stage> [--rotate] [--region R]

- Secrets Manager `keel/<stage>/jwt`: {"signing_key": Ed25519 PKCS#8 PEM, "kid": key id}
- Secrets Manager `keel/<stage>/cursor`: {"key": random url-safe string}
- Secrets Manager `keel/<stage>/link`: {"key": random url-safe string} (signs unsubscribe links: links in
  sent mail work for 180 days, so rotate it at most that often; the previous version still opens links)
- Secrets Manager `keel/<stage>/edge`: {"key": random url-safe string} (CloudFront sends it to the API;
  the functions serve only requests that carry it)
- SSM String `/keel/<stage>/jwt-public-keys`: {"<kid>": SPKI PEM, ...} (the JwtPublicKeys parameter)
- the SES domain identity of the MailFrom parameter (samconfig.toml), the sender of account mail: the
  script prints the DKIM records to publish; sign-up and password-reset mail go out once SES has seen
  them (and, in a new account, once SES production access is granted: the script warns until then)

Existing secrets and parameters are left as they are. --rotate adds a new key id `<stage>-N+1` to the
public keys (old ones stay, so tokens already issued still verify) and replaces the signing key.
"""
import argparse
import json
import re
import secrets
import sys

import boto3
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from common import parameter_for, region_for, stage_arg

# The keys reach every function as an environment variable, and a function's variables share 4 KB.
PUBLIC_KEYS_LIMIT = 2048


def new_key() -> tuple[str, str]:
    key = Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()).decode()
    return private_pem, public_pem_of(private_pem)


def public_pem_of(private_pem: str) -> str:
    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo).decode()


class Store:
    def __init__(self, stage: str, region: str):
        self.sm = boto3.client("secretsmanager", region_name=region)
        self.ssm = boto3.client("ssm", region_name=region)
        self.lam = boto3.client("lambda", region_name=region)
        self.stage = stage
        self.jwt_secret = f"keel/{stage}/jwt"
        self.cursor_secret = f"keel/{stage}/cursor"
        self.link_secret = f"keel/{stage}/link"
        self.edge_secret = f"keel/{stage}/edge"
        self.public_keys = f"/keel/{stage}/jwt-public-keys"

    def secret(self, name: str) -> dict | None:
        try:
            described = self.sm.describe_secret(SecretId=name)
        except self.sm.exceptions.ResourceNotFoundException:
            return None
        if described.get("DeletedDate"):
            # Creating under the same name fails until the deletion completes or is cancelled.
            sys.exit(f"secret {name} is scheduled for deletion: restore it "
                     f"(aws secretsmanager restore-secret --secret-id {name}) or wait until it is gone")
        return json.loads(self.sm.get_secret_value(SecretId=name)["SecretString"])

    def create_secret(self, name: str, value: dict, description: str):
        self.sm.create_secret(Name=name, SecretString=json.dumps(value), Description=description)

    def deployed_public_keys(self) -> dict:
        """The public keys the deployed functions verify tokens with (the leads function's setting)."""
        config = self.lam.get_function_configuration(FunctionName=f"keel-{self.stage}-leads")
        return json.loads(config.get("Environment", {}).get("Variables", {}).get("KEEL_JWT_PUBLIC_KEYS", "{}"))

    def keys(self) -> dict | None:
        try:
            value = self.ssm.get_parameter(Name=self.public_keys)["Parameter"]["Value"]
        except self.ssm.exceptions.ParameterNotFound:
            return None
        return json.loads(value)

    def put_keys(self, keys: dict, overwrite: bool):
        value = json.dumps(keys)
        if len(value) > PUBLIC_KEYS_LIMIT:
            sys.exit(f"{self.public_keys} would pass {PUBLIC_KEYS_LIMIT} characters: remove retired key ids first")
        self.ssm.put_parameter(Name=self.public_keys, Value=value, Type="String", Overwrite=overwrite,
                               Description="Keel token verification keys {kid: Ed25519 public key PEM} (JwtPublicKeys)")


def kid_of(signing: dict, keys: dict) -> str | None:
    """The key id whose public key matches the signing key."""
    public = public_pem_of(signing["signing_key"]).strip()
    matches = [kid for kid, pem in keys.items() if pem.strip() == public]
    if signing.get("kid") in matches:
        return signing["kid"]
    return matches[0] if matches else None


def next_kid(stage: str, keys: dict) -> str:
    numbers = [int(m.group(1)) for kid in keys if (m := re.fullmatch(rf"{re.escape(stage)}-(\d+)", kid))]
    return f"{stage}-{max(numbers, default=0) + 1}"


def bootstrap(store: Store, stage: str) -> str:
    random_keys = [
        (store.edge_secret, 32, "Keel edge secret: CloudFront -> API proof (KEEL_EDGE_SECRET)"),
        (store.cursor_secret, 48, "Keel pagination cursor signing key (read at run time)"),
        (store.link_secret, 48, "Keel unsubscribe link signing key (read at run time)"),
    ]
    for name, length, description in random_keys:
        if store.secret(name) is None:
            store.create_secret(name, {"key": secrets.token_urlsafe(length)}, description)
            print(f"created secret {name}")
        else:
            print(f"kept secret {name}")

    signing, keys = store.secret(store.jwt_secret), store.keys()
    if signing is None and keys is None:
        kid = f"{stage}-1"
        private_pem, public_pem = new_key()
        # Public key first: a signing key nobody can verify must never exist.
        store.put_keys({kid: public_pem}, overwrite=False)
        store.create_secret(store.jwt_secret, {"signing_key": private_pem, "kid": kid},
                            "Keel token signing key (identity function)")
        print(f"created parameter {store.public_keys} and secret {store.jwt_secret}")
        return kid
    if signing is None:
        sys.exit(f"{store.public_keys} exists but secret {store.jwt_secret} does not: "
                 "run with --rotate to make a signing key under a new key id")
    if keys is None:
        kid = signing.get("kid") or f"{stage}-1"
        store.put_keys({kid: public_pem_of(signing["signing_key"])}, overwrite=False)
        print(f"created parameter {store.public_keys} from the existing signing key; kept secret {store.jwt_secret}")
        return kid
    kid = kid_of(signing, keys)
    if kid is None:
        sys.exit(f"the signing key in {store.jwt_secret} matches no key in {store.public_keys}: "
                 "tokens it signs would not verify; run with --rotate")
    print(f"kept secret {store.jwt_secret} and parameter {store.public_keys}")
    return kid


def rotate(store: Store, stage: str) -> str:
    """Step 1 of a key rotation: publish the new public key and stage the new signing key as
    AWSPENDING. Verifiers learn public keys at deploy time, the identity function reads AWSCURRENT at
    run time: so deploy, then --promote."""
    signing, keys = store.secret(store.jwt_secret), store.keys() or {}
    kid = next_kid(stage, keys)
    private_pem, public_pem = new_key()
    # Verifiers learn the new key before anything signs with it; old keys stay for issued tokens.
    store.put_keys({**keys, kid: public_pem}, overwrite=bool(keys))
    value = json.dumps({"signing_key": private_pem, "kid": kid})
    if signing is None:
        store.create_secret(store.jwt_secret, json.loads(value), "Keel token signing key (identity function)")
        print(f"added key id {kid} to {store.public_keys} and created {store.jwt_secret} with it")
        return kid
    store.sm.put_secret_value(SecretId=store.jwt_secret, SecretString=value, VersionStages=["AWSPENDING"])
    print(f"added key id {kid} to {store.public_keys} and staged its signing key in {store.jwt_secret} (AWSPENDING)")
    print("Deploy (so every function verifies the new key id), then run with --promote: the identity "
          "function signs with it within 5 minutes, no redeploy. Once the tokens signed with the old key "
          "have expired (an hour: operator tokens live that long), remove its key id from the parameter and "
          "deploy again.")
    return kid


def promote(store: Store) -> str:
    """Step 2 of a key rotation: the staged signing key becomes AWSCURRENT."""
    versions = store.sm.list_secret_version_ids(SecretId=store.jwt_secret)["Versions"]
    pending = next((v["VersionId"] for v in versions if "AWSPENDING" in v.get("VersionStages", [])), None)
    current = next((v["VersionId"] for v in versions if "AWSCURRENT" in v.get("VersionStages", [])), None)
    if pending is None:
        sys.exit(f"no staged signing key in {store.jwt_secret}: run with --rotate first")
    staged = json.loads(store.sm.get_secret_value(SecretId=store.jwt_secret, VersionId=pending)["SecretString"])
    if staged["kid"] not in (store.keys() or {}):
        sys.exit(f"key id {staged['kid']} is not in {store.public_keys}: tokens it signs would not verify")
    # The parameter is read at deploy time: what counts is what the running functions verify with.
    deployed = store.deployed_public_keys()
    if staged["kid"] not in deployed:
        sys.exit(f"the deployed functions do not know key id {staged['kid']} yet: deploy first, then --promote")
    store.sm.update_secret_version_stage(SecretId=store.jwt_secret, VersionStage="AWSCURRENT",
                                         MoveToVersionId=pending, RemoveFromVersionId=current)
    store.sm.update_secret_version_stage(SecretId=store.jwt_secret, VersionStage="AWSPENDING",
                                         RemoveFromVersionId=pending)
    print(f"{store.jwt_secret}: key id {staged['kid']} is now the signing key")
    return staged["kid"]


def mail_sender(stage: str, region: str) -> None:
    """Makes the MailFrom address's domain an SES identity (Easy DKIM), so account mail is signed for
    the domain it claims and passes DMARC; prints what to publish, and warns while the account is still
    in the SES sandbox (mail then reaches only verified recipients)."""
    address = parameter_for(stage, "MailFrom")
    if not address or "@" not in address:
        sys.exit(f"samconfig.toml [{stage}] passes no MailFrom: the sender of account mail")
    domain = address.rsplit("@", 1)[1]
    ses = boto3.client("sesv2", region_name=region)
    try:
        identity = ses.get_email_identity(EmailIdentity=domain)
    except ses.exceptions.NotFoundException:
        identity = ses.create_email_identity(EmailIdentity=domain)
        print(f"mail sender: created the SES domain identity {domain}")
    if identity.get("VerifiedForSendingStatus"):
        print(f"mail sender {address}: domain {domain} verified")
    else:
        print(f"mail sender {address}: domain {domain} waits for these DNS records (then SES verifies it):")
        for token in identity.get("DkimAttributes", {}).get("Tokens", []):
            print(f"  CNAME {token}._domainkey.{domain} -> {token}.dkim.amazonses.com")
    account = ses.get_account()
    if not account.get("ProductionAccessEnabled"):
        quota = account.get("SendQuota", {})
        print(f"WARNING: SES in {region} is in the sandbox ({quota.get('Max24HourSend', 0):.0f} mails a day, only "
              f"to verified recipients): sign-ups and resets fail for everyone else until production access "
              f"is granted (SES console: Account dashboard -> Request production access)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("stage", type=stage_arg)
    parser.add_argument("--rotate", action="store_true",
                        help="publish a new key id and stage its signing key (then deploy, then --promote)")
    parser.add_argument("--promote", action="store_true", help="make the staged signing key the current one")
    parser.add_argument("--region", help="default: the stage's region in samconfig.toml")
    args = parser.parse_args()
    store = Store(args.stage, region_for(args.stage, args.region))
    if args.promote:
        kid = promote(store)
    elif args.rotate:
        kid = rotate(store, args.stage)
    else:
        kid = bootstrap(store, args.stage)
        mail_sender(args.stage, region_for(args.stage, args.region))
    print(f"signing key id: {kid}")


if __name__ == "__main__":
    main()
