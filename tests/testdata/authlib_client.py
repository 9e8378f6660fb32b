"""A relying party of Gatehouse written with Authlib (Debian's python3-authlib).

authorize ISSUER CLIENT_ID SECRET REDIRECT
    prints {"url", "verifier", "nonce", "state"}: the authorization request,
    with PKCE S256, that the Go test's browser follows.
finish ISSUER CLIENT_ID SECRET REDIRECT VERIFIER NONCE CALLBACK_URL
    exchanges the code of CALLBACK_URL (the redirect the browser got),
    validates the ID token against the JWKS (signature, iss, aud, exp,
    nonce), asks UserInfo, and prints {"id_token": claims, "userinfo": ...}.
Any failure exits non-zero with Authlib's own error.
"""
import json
import sys

import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.common.security import generate_token
from authlib.jose import JsonWebKey, jwt


def discover(issuer):
    meta = requests.get(issuer + "/.well-known/openid-configuration", timeout=10)
    meta.raise_for_status()
    return meta.json()


def main():
    mode, issuer, client_id, secret, redirect = sys.argv[1:6]
    meta = discover(issuer)
    session = OAuth2Session(client_id, secret, scope="openid email profile",
                            redirect_uri=redirect, code_challenge_method="S256",
                            token_endpoint_auth_method="client_secret_basic")
    if mode == "authorize":
        verifier, nonce = generate_token(48), generate_token(20)
        url, state = session.create_authorization_url(meta["authorization_endpoint"], code_verifier=verifier, nonce=nonce)
        print(json.dumps({"url": url, "verifier": verifier, "nonce": nonce, "state": state}))
        return
    verifier, nonce, callback = sys.argv[6:9]
    token = session.fetch_token(meta["token_endpoint"], authorization_response=callback, code_verifier=verifier)
    keys = JsonWebKey.import_key_set(requests.get(meta["jwks_uri"], timeout=10).json())
    claims = jwt.decode(token["id_token"], keys, claims_options={
        "iss": {"essential": True, "value": issuer},
        "aud": {"essential": True, "value": client_id},
        "nonce": {"essential": True, "value": nonce},
        "sub": {"essential": True},
    })
    claims.validate()
    info = session.get(meta["userinfo_endpoint"])
    info.raise_for_status()
    print(json.dumps({"id_token": dict(claims), "userinfo": info.json()}))


if __name__ == "__main__":
    main()
