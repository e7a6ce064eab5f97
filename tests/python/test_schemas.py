"""The JSON Schemas in schema/ agree with the shipped configuration, the test fixtures and the
gateway itself.

- each schema is a valid draft 2020-12 schema, every property is described, every object with
  properties says what it does with other fields;
- config/policy/*.json, config/portcullis.json and config/imports/*.json validate;
- every fixture under tests/fixtures/ that `portcullis check --policy` accepts validates against
  the policy schema, and every Linea21 fixture validates exactly when a policy importing it is
  accepted (needs the binary: PORTCULLIS_BIN or target/debug/portcullis; skipped when absent);
- a policy using every section validates (and is accepted by the gateway, when built);
- invalid snippets (unknown fields, bad enums, bad digests, ...) are rejected.

Run: python3 -m venv .venv && .venv/bin/pip install -r tests/python/requirements.txt &&
     .venv/bin/pytest tests/python/test_schemas.py
"""

import copy
import json
import os
import subprocess
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "schema"
FIXTURES = ROOT / "tests" / "fixtures"
# The same binary as conftest.py: PORTCULLIS_BIN, else target/debug/portcullis.
BINARY = Path(
    os.environ.get(
        "PORTCULLIS_BIN",
        ROOT / "target" / "debug" / ("portcullis.exe" if os.name == "nt" else "portcullis"),
    )
)

SCHEMA_FILES = {
    "policy": SCHEMAS / "policy.schema.json",
    "settings": SCHEMAS / "settings.schema.json",
    "linea21": SCHEMAS / "linea21-permissions.schema.json",
}


def load_schema(name):
    return json.loads(SCHEMA_FILES[name].read_text(encoding="utf-8"))


def validator(name):
    return Draft202012Validator(
        load_schema(name), format_checker=Draft202012Validator.FORMAT_CHECKER
    )


def errors(name, doc):
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator(name).iter_errors(doc)]


def read_json(path):
    return json.loads(Path(path).read_text(encoding="utf-8"))


def needs_binary():
    if not BINARY.is_file():
        pytest.skip(f"{BINARY} is not built (cargo build)")


def check_policy(path):
    """Whether `portcullis check --policy path` accepts the policy, and what it said."""
    r = subprocess.run(
        [str(BINARY), "check", "--policy", str(path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert r.returncode in (0, 1), f"portcullis check failed to run: {r.stderr}"
    return r.returncode == 0, r.stderr


# ---------------------------------------------------------------------------------------------
# The schemas themselves.


@pytest.mark.parametrize("name", sorted(SCHEMA_FILES))
def test_schema_is_valid_draft_2020_12(name):
    schema = load_schema(name)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)


def _walk(node, at="#"):
    if isinstance(node, dict):
        yield at, node
        for k, v in node.items():
            yield from _walk(v, f"{at}/{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _walk(v, f"{at}/{i}")


@pytest.mark.parametrize("name", sorted(SCHEMA_FILES))
def test_every_property_is_described_and_objects_are_closed(name):
    schema = load_schema(name)
    undescribed, open_objects = [], []
    for at, node in _walk(schema):
        props = node.get("properties")
        # Skip the `properties` maps themselves and the conditions of if/then/else.
        if not isinstance(props, dict) or at.endswith("/properties") or "/if" in at:
            continue
        # A tag (`{"kind": "postgres"}`: a property that is one constant) is described by the
        # variant it selects, which must have a description itself.
        undescribed += [
            f"{at}/properties/{p}"
            for p, s in props.items()
            if "description" not in s and not ("const" in s and "description" in node)
        ]
        # serde's deny_unknown_fields: every object says what other members may be.
        if "additionalProperties" not in node:
            open_objects.append(at)
    assert not undescribed, f"properties without a description: {undescribed}"
    assert not open_objects, f"objects without additionalProperties: {open_objects}"


def test_config_files_reference_the_schemas():
    policy = ROOT / "config" / "policy" / "policy.json"
    settings = ROOT / "config" / "portcullis.json"
    for path, schema in [(policy, "policy"), (settings, "settings")]:
        ref = read_json(path)["$schema"]
        assert (path.parent / ref).resolve() == SCHEMA_FILES[schema].resolve(), path


# ---------------------------------------------------------------------------------------------
# Shipped configuration.


@pytest.mark.parametrize(
    "path",
    sorted((ROOT / "config" / "policy").glob("*.json"))
    + sorted((ROOT / "config" / "examples").glob("*/policy/*.json")),
    ids=lambda p: str(p.relative_to(ROOT / "config")),
)
def test_shipped_policy_validates(path):
    assert errors("policy", read_json(path)) == []


@pytest.mark.parametrize(
    "path",
    [ROOT / "config" / "portcullis.json"] + sorted((ROOT / "config" / "examples").glob("*/portcullis.json")),
    ids=lambda p: str(p.relative_to(ROOT / "config")),
)
def test_shipped_settings_validate(path):
    assert errors("settings", read_json(path)) == []


@pytest.mark.parametrize(
    "path", sorted((ROOT / "config" / "imports").glob("*.json")), ids=lambda p: p.name
)
def test_shipped_linea21_import_validates(path):
    assert errors("linea21", read_json(path)) == []


# ---------------------------------------------------------------------------------------------
# Fixtures: whatever the gateway accepts, the schema accepts.

FIXTURE_FILES = sorted(FIXTURES.rglob("*.json")) if FIXTURES.is_dir() else []


def _fixture_id(p):
    return str(p.relative_to(FIXTURES))


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=_fixture_id)
def test_fixture_accepted_by_the_gateway_validates(path):
    needs_binary()
    ok, said = check_policy(path)
    if ok:  # Fixtures the gateway rejects (error cases, Linea21 files) have nothing to check.
        assert errors("policy", read_json(path)) == [], said


# Error fixtures whose fault is in the shape of the file, which the schema can see too. (The
# others, such as an unknown role or conflicting routes, need `portcullis check`.)
SHAPE_ERROR_FIXTURES = [
    "policy-errors/bad-content-status.json",
    "policy-errors/bad-date.json",
    "policy-errors/bad-unmapped-status.json",
    "policy-errors/malformed-digest.json",
    "policy-errors/missing-module.json",
    "policy-errors/several-errors.json",
    "policy-errors/unknown-field.json",
    "linea21/policy-bad-status.json",
]


@pytest.mark.parametrize("name", SHAPE_ERROR_FIXTURES)
def test_shape_error_fixture_is_rejected(name):
    path = FIXTURES / name
    if not path.is_file():
        pytest.skip(f"{name} is gone")
    if name == "linea21/policy-bad-status.json":
        # The fault is in the imported file.
        imported = path.parent / read_json(path)["imports"][0]["path"]
        assert errors("linea21", read_json(imported)) != []
    else:
        assert errors("policy", read_json(path)) != []


LINEA21_FIXTURES = [p for p in FIXTURE_FILES if p.name.startswith("api-permissions")]


@pytest.mark.parametrize("path", LINEA21_FIXTURES, ids=_fixture_id)
def test_linea21_fixture_validates_exactly_when_the_gateway_imports_it(path, tmp_path):
    needs_binary()
    policy = tmp_path / "policy.json"
    policy.write_text(
        json.dumps({"imports": [{"format": "linea21", "path": str(path.resolve())}]}),
        encoding="utf-8",
    )
    ok, said = check_policy(policy)
    try:
        doc = read_json(path)
    except json.JSONDecodeError:
        assert not ok, "the gateway accepted a file that is not JSON"
        return
    assert (errors("linea21", doc) == []) == ok, said


# ---------------------------------------------------------------------------------------------
# A policy using every section.

DIGEST = "b3c53c08828847f11b3083a5b1fa83ddf6751112653f0fd9d563754092ec65f7"
OTHER_DIGEST = "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08"
# argon2id of a throwaway test password; a PHC string is not a secret.
PHC = (
    "$argon2id$v=19$m=19456,t=2,p=1$hpkAwEIcqMeu09CTEtOxDw$"
    "HEjaAJfDmBocPITaAA3bR9rZDh2tTgEkfHITuIKwV2A"
)
ED25519_PUBLIC = (
    "-----BEGIN PUBLIC KEY-----\n"
    "MCowBQYDK2VwAyEALdYkp5nyjQnZ/GbFen2YTk/NuVOAB1mCoQybNP5//+E=\n"
    "-----END PUBLIC KEY-----\n"
)

FULL_POLICY = {
    "$schema": "../../schema/policy.schema.json",
    "$comment": "every section",
    "mode": "limited-access",
    "unmapped_status": 403,
    "credential_query_params": ["token", "api_key"],
    "upstreams": {
        "app": {"url": "http://127.0.0.1:8081/app/", "timeout_ms": 5000},
        "echo": {"url": "builtin:echo"},
    },
    "routes": [
        {"id": "public", "methods": ["GET", "HEAD"], "path": "/public/{*rest}",
         "upstream": "echo", "public": True},
        {"id": "linea21", "methods": ["GET"], "host": "Linea21.Example.org", "path": "/api/",
         "query": {"module": "*"}, "module": {"query": "module"},
         "action": {"query": "action"}, "upstream": "app"},
        {"id": "by-path", "path": "/api/v1/{module}/{action}", "module": {"path": "module"},
         "action": {"path": "action"}, "upstream": "app", "keep_credential": True,
         "allow_encoded_percent": True},
        {"id": "docs", "methods": ["GET"], "path": "/inboxes/{inbox}/documents/{document}",
         "module": "documents", "action": "read",
         "resources": {"inbox": {"path": "inbox"}, "document": {"path": "document"}},
         "upstream": "app"},
        {"id": "rows", "methods": ["GET", "POST"], "path": "/dtable-server/api/v1/dtables/{base}/rows/",
         "module": "rows", "action": "list", "resources": {"base": {"path": "base"}},
         "upstream": "app", "accept": ["base"], "error_style": "seatable"},
    ],
    "roles": {"reader": {"indicator": ["list", "info"], "level": ["list"]}},
    "keys": {
        "ci": {"sha256": DIGEST, "description": "CI", "contact": "ops", "roles": ["reader"],
               "permissions": {"documents": ["all"]}, "scope": {"inbox": ["a", "b"]},
               "status": ["P", "D"], "read_only": True,
               "not_before": "2025-01-01T00:00:00Z", "expires_at": "2027-06-30T12:00:00.5+02:00",
               "disabled": False},
        "upper": {"sha256": OTHER_DIGEST, "status": "all"},
    },
    "users": {
        "alice": {"password": PHC, "permissions": {"rows": ["all"]}, "roles": ["reader"],
                  "scope": {}, "status": "P", "tokens_valid_after": "2025-01-01T00:00:00Z",
                  "disabled": False},
        "bob": {"password": PHC},
    },
    "signing_keys": {
        "acc-1": {"use": "account", "alg": "HS256",
                  "secret": {"inline": "0123456789abcdef0123456789abcdef"},
                  "created": "2025-01-01T00:00:00Z"},
        "tmp-1": {"use": "temporary", "alg": "HS256",
                  "secret": {"inline": "fedcba9876543210fedcba9876543210"}, "verify_only": True},
        "base-1": {"use": "base", "alg": "EdDSA", "public_key": {"inline": ED25519_PUBLIC}},
    },
    "bases": {
        "5f2c7a4e-0000-4000-8000-000000000001": {
            "workspace_id": 1, "name": "Projects", "owner": "alice", "members": {"bob": "r"},
            "dtable_server": "https://cloud.example.org/dtable-server/",
            "dtable_socket": "https://cloud.example.org/", "dtable_db": "https://cloud.example.org/dtable-db/",
            "use_api_gateway": True,
        }
    },
    "links": {"share-1": {"sha256": DIGEST, "base": "5f2c7a4e-0000-4000-8000-000000000001"}},
    "api_tokens": [
        {"base": "5f2c7a4e-0000-4000-8000-000000000001", "app_name": "sync", "sha256": DIGEST,
         "permission": "rw", "generated_by": "alice", "generated_at": "2025-01-01T00:00:00+00:00",
         "disabled": False}
    ],
    "revoked_tokens": ["0b8f6c1e-jti"],
    "seatable": {"enabled": True, "prefix": "/seatable", "account_token_ttl_s": 86400,
                 "temporary_token_ttl_s": 3600, "base_token_ttl_s": 259200,
                 "login_failures_per_user_per_minute": 5,
                 "login_failures_per_address_per_minute": 20},
}


def test_policy_with_every_section_validates():
    assert errors("policy", FULL_POLICY) == []


def test_policy_with_every_section_is_accepted_by_the_gateway(tmp_path):
    needs_binary()
    path = tmp_path / "policy.json"
    path.write_text(json.dumps(FULL_POLICY), encoding="utf-8")
    ok, said = check_policy(path)
    assert ok, said


# ---------------------------------------------------------------------------------------------
# Snippets: valid ones pass, invalid ones are rejected.

ROUTE = {"id": "r", "path": "/x", "module": "m", "action": "a", "upstream": "app"}


def route(**kw):
    r = dict(ROUTE)
    r.update(kw)
    return {"routes": [r]}


def key(**kw):
    k = {"sha256": DIGEST}
    k.update(kw)
    return {"keys": {"k": k}}


def signing(**kw):
    return {"signing_keys": {"k1": kw}}


HS = {"inline": "0123456789abcdef0123456789abcdef"}
PUB = {"file": "ed25519.pub"}

VALID_POLICY = {
    "empty file": {},
    "upper-case digest": key(sha256=DIGEST.upper()),
    "status list": key(status=["P", "PA", "AA"]),
    "status one": key(status="D"),
    "date with offset and fraction": key(expires_at="2026-01-31T12:00:00.250-05:00"),
    "date lower-case t and z": key(expires_at="2026-01-31t12:00:00z"),
    "public route without module or action": {
        "routes": [{"id": "p", "path": "/p/{*rest}", "upstream": "app", "public": True}]},
    "any method": route(methods=[]),
    "extension method": route(methods=["PROPFIND"]),
    "capture from path": route(path="/{m}", module={"path": "m"}),
    "capture from query": route(module={"query": "module"}),
    "query constraint present": route(query={"module": "*", "action": "list"}),
    "resource header-safe name": route(path="/{i}", resources={"inbox_id": {"path": "i"}}),
    "upstream with prefix": {"upstreams": {"app": {"url": "http://10.0.0.5:8080/linea21"}}},
    "echo upstream": {"upstreams": {"app": {"url": "builtin:echo"}}},
    "eddsa verify only": signing(use="base", alg="EdDSA", public_key=PUB),
    "secret from env": signing(use="account", alg="HS256", secret={"env": "PORTCULLIS_HS"}),
    "seatable defaults": {"seatable": {}},
    "seatable prefix with trailing slash": {"seatable": {"prefix": "/st/"}},
}

INVALID_POLICY = {
    "unknown top-level field": {"route": []},
    "unknown route field (misspelled methods)": route(methdos=["GET"]),
    "unknown key field": key(secret="plaintext"),
    "$comment below the top level": route(**{"$comment": "x"}),
    "bad mode": {"mode": "full_access"},
    "mode 0 (Linea21's spelling)": {"mode": 0},
    "unmapped status 500": {"unmapped_status": 500},
    "unmapped status as string": {"unmapped_status": "404"},
    "duplicate credential query parameter": {"credential_query_params": ["token", "token"]},
    "digest too short": key(sha256=DIGEST[:32]),
    "digest not hex": key(sha256="z" * 64),
    "digest of the empty secret": key(
        sha256="E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"),
    "digest missing": {"keys": {"k": {"description": "no digest"}}},
    "unknown status": key(status=["P", "X"]),
    "all inside a status list": key(status=["P", "all"]),
    "lower-case status": key(status="p"),
    "month 13": key(expires_at="2026-13-01T00:00:00Z"),
    "date without offset": key(not_before="2026-01-01T00:00:00"),
    "date only": key(not_before="2026-01-01"),
    "lower-case method": route(methods=["get"]),
    "method with a space": route(methods=["GET "]),
    "relative path": route(path="api/"),
    "empty segment in path": route(path="/a//b"),
    "query in path": route(path="/a?b=1"),
    "non-public route without action": {"routes": [{"id": "r", "path": "/x", "module": "m", "upstream": "app"}]},
    "public false without module": {"routes": [{"id": "r", "path": "/x", "action": "a", "upstream": "app", "public": False}]},
    "route without upstream": {"routes": [{"id": "r", "path": "/x", "public": True}]},
    "empty route id": route(id=""),
    "capture naming both path and query": route(path="/{m}", module={"path": "m", "query": "m"}),
    "capture naming neither": route(module={}),
    "capture with unknown member": route(module={"param": "m"}),
    "empty literal": route(action=""),
    "query constraint not a string": route(query={"page": 1}),
    "resource name not a header token": route(path="/{i}", resources={"my inbox": {"path": "i"}}),
    "bad credential kind": route(accept=["temporary"]),
    "bad error style": route(error_style="SeaTable"),
    "https upstream": {"upstreams": {"app": {"url": "https://app.example.org"}}},
    "upstream with query": {"upstreams": {"app": {"url": "http://app/?x=1"}}},
    "upstream without url": {"upstreams": {"app": {"timeout_ms": 10}}},
    "negative timeout": {"upstreams": {"app": {"url": "builtin:echo", "timeout_ms": -1}}},
    "permissions not a list": {"roles": {"r": {"indicator": "all"}}},
    "bad import format": {"imports": [{"format": "Linea21", "path": "x.json"}]},
    "import without path": {"imports": [{"format": "linea21"}]},
    "password not argon2id": {"users": {"u": {"password": "hunter2"}}},
    "secret ref with two sources": signing(use="account", alg="HS256", secret={"env": "A", "inline": "b"}),
    "secret ref with no source": signing(use="account", alg="HS256", secret={}),
    "secret ref as a string": signing(use="account", alg="HS256", secret="0123456789abcdef0123456789abcdef"),
    "HS256 without secret": signing(use="account", alg="HS256"),
    "HS256 with a public key": signing(use="account", alg="HS256", secret=HS, public_key=PUB),
    "EdDSA without public key": signing(use="base", alg="EdDSA", private_key={"file": "k.pem"}),
    "EdDSA with a secret": signing(use="base", alg="EdDSA", public_key=PUB, secret=HS),
    "bad key use": signing(use="api", alg="HS256", secret=HS),
    "lower-case alg": signing(use="account", alg="hs256", secret=HS),
    "base member permission": {"bases": {"b": {"workspace_id": 1, "name": "n", "owner": "u",
                                                "members": {"v": "write"}, "dtable_server": "s",
                                                "dtable_socket": "s"}}},
    "base without socket": {"bases": {"b": {"workspace_id": 1, "name": "n", "owner": "u",
                                             "dtable_server": "s"}}},
    "negative workspace": {"bases": {"b": {"workspace_id": -1, "name": "n", "owner": "u",
                                            "dtable_server": "s", "dtable_socket": "s"}}},
    "api token permission": {"api_tokens": [{"base": "b", "app_name": "a", "sha256": DIGEST,
                                             "permission": "w", "generated_by": "u",
                                             "generated_at": "2025-01-01T00:00:00Z"}]},
    "link bad digest": {"links": {"l": {"sha256": "abc", "base": "b"}}},
    "seatable relative prefix": {"seatable": {"prefix": "seatable"}},
    "seatable unknown field": {"seatable": {"ttl": 5}},
    "linea21 entry inline in the policy": {"linea21-abc": {"permissions": {"m": ["all"]}}},
}

VALID_SETTINGS = {
    "minimal": {"listeners": [], "policy": "policy"},
    "ipv6 listener and admin": {"listeners": [{"address": "[::]:8080"}],
                                "admin": {"address": "[::1]:9901"}, "policy": "p.json"},
    "port 0": {"listeners": [{"address": "127.0.0.1:0"}], "policy": "p"},
    "trusted proxies": {"listeners": [], "policy": "p",
                        "trusted_proxies": ["10.0.0.0/8", "192.168.1.10/32", "fd00::/8", "::1/128"]},
    "partial sections": {"listeners": [], "policy": "p", "limits": {"max_params": 200},
                         "reload": {"check_interval_ms": 0}, "log": {"format": "json"}},
}

INVALID_SETTINGS = {
    "unknown field": {"listeners": [], "policy": "p", "listen": []},
    "missing policy": {"listeners": []},
    "missing listeners": {"policy": "p"},
    "host name listener": {"listeners": [{"address": "localhost:8080"}], "policy": "p"},
    "listener without port": {"listeners": [{"address": "127.0.0.1"}], "policy": "p"},
    "port out of range": {"listeners": [{"address": "127.0.0.1:65536"}], "policy": "p"},
    "unknown listener field": {"listeners": [{"address": "127.0.0.1:8080", "tls": True}], "policy": "p"},
    "proxy without prefix length": {"listeners": [], "policy": "p", "trusted_proxies": ["10.0.0.1"]},
    "proxy prefix too long": {"listeners": [], "policy": "p", "trusted_proxies": ["10.0.0.0/33"]},
    "unknown limit": {"listeners": [], "policy": "p", "limits": {"max_body": 1}},
    "negative limit": {"listeners": [], "policy": "p", "limits": {"max_params": -1}},
    "unknown reload field": {"listeners": [], "policy": "p", "reload": {"debounce": 1}},
    "bad log format": {"listeners": [], "policy": "p", "log": {"format": "JSON"}},
}

L21_ENTRY = {"description": "d", "contact": "c", "permissions": {"indicator": ["all"]}}

VALID_LINEA21 = {
    "status all": {"t1": {"permissions": {"indicator": ["list"], "status": "all"}}},
    "status one": {"t1": {"permissions": {"indicator": ["list"], "status": "PA"}}},
    "no description or contact": {"t1": {"permissions": {"level": ["list"]}}},
    "empty file": {},
}

INVALID_LINEA21 = {
    "unknown status": {"t1": {"permissions": {"indicator": ["list"], "status": "everything"}}},
    "status as a list": {"t1": {"permissions": {"status": ["P", "D"]}}},
    "actions not a list": {"t1": {"permissions": {"indicator": "all"}}},
    "unknown entry field": {"t1": dict(L21_ENTRY, expires="2026-01-01")},
    "no permissions": {"t1": {"description": "d"}},
    "empty token": {"": L21_ENTRY},
    "entry not an object": {"t1": ["indicator"]},
}


@pytest.mark.parametrize("name", sorted(VALID_POLICY))
def test_valid_policy_snippet(name):
    assert errors("policy", VALID_POLICY[name]) == []


@pytest.mark.parametrize("name", sorted(INVALID_POLICY))
def test_invalid_policy_snippet_is_rejected(name):
    assert errors("policy", INVALID_POLICY[name]) != []


@pytest.mark.parametrize("name", sorted(VALID_SETTINGS))
def test_valid_settings_snippet(name):
    assert errors("settings", VALID_SETTINGS[name]) == []


@pytest.mark.parametrize("name", sorted(INVALID_SETTINGS))
def test_invalid_settings_snippet_is_rejected(name):
    assert errors("settings", INVALID_SETTINGS[name]) != []


@pytest.mark.parametrize("name", sorted(VALID_LINEA21))
def test_valid_linea21_snippet(name):
    assert errors("linea21", VALID_LINEA21[name]) == []


@pytest.mark.parametrize("name", sorted(INVALID_LINEA21))
def test_invalid_linea21_snippet_is_rejected(name):
    assert errors("linea21", INVALID_LINEA21[name]) != []


def test_shipped_policy_with_a_misspelled_field_is_rejected():
    policy = copy.deepcopy(read_json(ROOT / "config" / "policy" / "policy.json"))
    policy["routes"][0]["upstrem"] = policy["routes"][0].pop("upstream")
    assert errors("policy", policy) != []
