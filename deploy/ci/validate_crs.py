#!/usr/bin/env python3
"""Validates StrataCluster samples against the CRD's own openAPIV3Schema.

    validate_crs.py CRD.yaml --valid SAMPLE... --invalid SAMPLE...

Every --valid document must pass and every --invalid one must fail (so a
schema that accepts anything is caught too). The CRD schema is OpenAPI v3 as
Kubernetes uses it; `nullable`, `x-kubernetes-*` and `format: int32/int64`
are translated to plain JSON Schema first.
"""
import sys

import jsonschema
import yaml


def to_json_schema(node):
    if isinstance(node, list):
        return [to_json_schema(x) for x in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key.startswith("x-kubernetes-") or key == "nullable":
            continue
        out[key] = to_json_schema(value)
    if node.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
    if node.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    return out


def main(argv):
    crd_path = argv[1]
    mode, valid, invalid = None, [], []
    for arg in argv[2:]:
        if arg in ("--valid", "--invalid"):
            mode = arg
        elif mode == "--valid":
            valid.append(arg)
        elif mode == "--invalid":
            invalid.append(arg)
    crd = next(d for d in yaml.safe_load_all(open(crd_path)) if d)
    version = crd["spec"]["versions"][0]
    schema = to_json_schema(version["schema"]["openAPIV3Schema"])
    validator = jsonschema.Draft7Validator(schema)
    kind = crd["spec"]["names"]["kind"]
    api_version = f'{crd["spec"]["group"]}/{version["name"]}'
    failures = 0
    for path, expect_ok in [(p, True) for p in valid] + [(p, False) for p in invalid]:
        for doc in yaml.safe_load_all(open(path)):
            if not doc:
                continue
            errors = []
            if doc.get("kind") != kind or doc.get("apiVersion") != api_version:
                errors.append(f"not a {api_version} {kind}")
            errors += [f"{'/'.join(map(str, e.path))}: {e.message}" for e in validator.iter_errors(doc)]
            name = doc.get("metadata", {}).get("name", "?")
            if expect_ok and errors:
                failures += 1
                print(f"FAILED {path} ({name}): " + "; ".join(errors))
            elif not expect_ok and not errors:
                failures += 1
                print(f"FAILED {path} ({name}): accepted, but the schema must reject it")
            else:
                verdict = "valid" if expect_ok else f"rejected as expected ({errors[0]})"
                print(f"ok {path} ({name}): {verdict}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
