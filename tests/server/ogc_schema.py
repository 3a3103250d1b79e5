#!/usr/bin/python3
"""ogc_schema.py SCHEMA FILE: validates the JSON document FILE against one
schema of the OGC API - Features Part 1 repository, vendored under
tests/schemas/ogcapi-features (SCHEMA is its file name without .yaml:
featureCollectionGeoJSON, featureGeoJSON, landingPage, confClasses,
collections, collection). Prints "valid", or the validator's complaint and
the path in the document where it is; exits non-zero then.

The schemas are OpenAPI 3.1 schema objects (JSON Schema 2020-12) in YAML,
which refer to each other by file name; they are read as published. One
thing is read differently from plain YAML: the repository writes the JSON
type name null bare (`type: null`, `- null`), which YAML reads as no value;
the JSON Schema meant is the type "null", and it is given that.
Offline: every $ref is one of the vendored files.
"""
import json
import os
import sys
import urllib.parse

import jsonschema
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
SCHEMAS = os.path.join(HERE, "..", "schemas", "ogcapi-features")


def null_types(node):
    """The schema with each YAML null in a 'type' made the type name "null"."""
    if isinstance(node, dict):
        out = {}
        for k, v in node.items():
            if k == "type" and v is None:
                v = "null"
            elif k == "type" and isinstance(v, list):
                v = ["null" if t is None else t for t in v]
            out[k] = null_types(v)
        return out
    if isinstance(node, list):
        return [null_types(v) for v in node]
    return node


def load(path):
    with open(path, encoding="utf-8") as f:
        return null_types(yaml.safe_load(f))


def from_file_uri(uri):
    path = urllib.parse.urlparse(uri).path
    if not os.path.realpath(path).startswith(os.path.realpath(SCHEMAS) + os.sep):
        raise ValueError("a $ref outside the vendored schemas: " + uri)
    return load(path)


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: ogc_schema.py SCHEMA FILE")
    path = os.path.realpath(os.path.join(SCHEMAS, sys.argv[1] + ".yaml"))
    schema = load(path)
    resolver = jsonschema.RefResolver("file://" + path, schema, handlers={"file": from_file_uri})
    with open(sys.argv[2], encoding="utf-8") as f:
        doc = json.load(f)
    validator = jsonschema.Draft202012Validator(schema, resolver=resolver)
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
    if errors:
        e = errors[0]
        print("%s at %s" % (e.message[:300], "/".join(str(p) for p in e.absolute_path) or "/"))
        sys.exit(1)
    print("valid")


if __name__ == "__main__":
    main()
