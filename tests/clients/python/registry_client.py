#!/usr/bin/python3
"""End-to-end test of the Sluice schema registry with Confluent's own Python client.

Runs confluent_kafka.schema_registry (Debian's python3-confluent-kafka) against a running
registry: every SchemaRegistryClient call, error statuses and codes, and a JSONSerializer /
JSONDeserializer round trip whose wire format (magic byte 0, 4-byte big-endian schema id) is
checked byte by byte. Expected: what Confluent's registry answers (statuses, error codes, ids).

Usage: registry_client.py http://127.0.0.1:PORT
Exit status 0 when every check passed; 1 with one line per failed check otherwise.
"""

import json
import struct
import sys
import traceback

import requests
from confluent_kafka.schema_registry import (Schema, SchemaRegistryClient,
                                             SchemaRegistryError)
from confluent_kafka.schema_registry.json_schema import (JSONDeserializer,
                                                         JSONSerializer)
from confluent_kafka.serialization import (MessageField, SerializationContext,
                                           SerializationError)

URL = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8081"

failures = []
checks = 0


class SectionAbort(Exception):
    """A check inside a section failed and later checks of that section depend on it."""


def check(cond, what, detail=""):
    """Records one check; returns cond so callers can stop a section early."""
    global checks
    checks += 1
    if not cond:
        msg = "FAIL: {}{}".format(what, (": " + detail) if detail else "")
        print(msg, flush=True)
        failures.append(msg)
    return cond


def require(cond, what, detail=""):
    if not check(cond, what, detail):
        raise SectionAbort(what)


def eq(actual, expected, what):
    return check(actual == expected, what,
                 "expected {!r}, got {!r}".format(expected, actual))


def require_eq(actual, expected, what):
    if not eq(actual, expected, what):
        raise SectionAbort(what)


def expect_error(fn, status, codes, what):
    """fn() must raise SchemaRegistryError with this HTTP status and one of the codes."""
    try:
        result = fn()
    except SchemaRegistryError as e:
        ok = e.http_status_code == status and e.error_code in codes
        check(ok, what, "expected HTTP {} code {}, got HTTP {} code {} ({})".format(
            status, "/".join(map(str, codes)), e.http_status_code, e.error_code,
            e.error_message))
        return e
    check(False, what, "expected SchemaRegistryError HTTP {} code {}, call returned {!r}".format(
        status, "/".join(map(str, codes)), result))
    return None


def fresh():
    """A client with an empty cache, so every call really reaches the server."""
    return SchemaRegistryClient({"url": URL})


def same_json(a, b):
    return json.loads(a) == json.loads(b)


AVRO_V1 = json.dumps({
    "type": "record", "name": "User", "namespace": "sluice.test",
    "fields": [{"name": "name", "type": "string"}]})
# Same schema with other whitespace: must map to the same id (the registry stores a canonical form).
AVRO_V1_SPACED = json.dumps(json.loads(AVRO_V1), indent=4)
# BACKWARD-compatible with v1: the new field has a default.
AVRO_V2 = json.dumps({
    "type": "record", "name": "User", "namespace": "sluice.test",
    "fields": [{"name": "name", "type": "string"},
               {"name": "age", "type": "int", "default": 0}]})
# Not BACKWARD-compatible with v2: a new field without default cannot be read from old data.
AVRO_V3_INCOMPATIBLE = json.dumps({
    "type": "record", "name": "User", "namespace": "sluice.test",
    "fields": [{"name": "name", "type": "string"},
               {"name": "age", "type": "int", "default": 0},
               {"name": "email", "type": "string"}]})
PROTO_TEXT = """syntax = "proto3";
package sluice.test;

message Order {
  int32 id = 1;
  string item = 2;
}
"""
JSON_SCHEMA = json.dumps({
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "Reading",
    "type": "object",
    "properties": {
        "sensor": {"type": "string"},
        "value": {"type": "number"},
        "tags": {"type": "array", "items": {"type": "string"}}},
    "required": ["sensor", "value"]})
# The sensor property changes type: incompatible in every direction.
JSON_SCHEMA_INCOMPATIBLE = json.dumps({
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "Reading",
    "type": "object",
    "properties": {
        "sensor": {"type": "integer"},
        "value": {"type": "number"},
        "tags": {"type": "array", "items": {"type": "string"}}},
    "required": ["sensor", "value"]})


def section_root_and_global_config():
    r = requests.get(URL + "/")
    eq(r.status_code, 200, "GET / status")
    check(r.status_code == 200 and r.json() == {}, "GET / body is {}", repr(r.text))
    c = fresh()
    eq(c.get_compatibility(), "BACKWARD", "default global compatibility")
    eq(c.set_compatibility(level="full").get("compatibility"), "FULL",
       "set_compatibility(global, 'full') answers the stored level, key 'compatibility'")
    eq(c.get_compatibility(), "FULL", "global compatibility after set")
    eq(c.set_compatibility(level="BACKWARD").get("compatibility"), "BACKWARD",
       "set_compatibility(global) back to BACKWARD")
    eq(c.get_compatibility(), "BACKWARD", "global compatibility restored")
    expect_error(lambda: c.set_compatibility(level="SIDEWAYS"), 422, (42203,),
                 "set_compatibility with an invalid level")
    r = requests.get(URL + "/schemas/types")
    check(r.status_code == 200 and sorted(r.json()) == ["AVRO", "JSON", "PROTOBUF"],
          "GET /schemas/types lists AVRO, JSON, PROTOBUF", "{} {}".format(r.status_code, r.text))


def section_avro_lifecycle():
    subject = "py-avro-value"
    c = fresh()
    expect_error(lambda: c.get_compatibility(subject), 404, (40408,),
                 "get_compatibility on a subject without its own level")
    id1 = c.register_schema(subject, Schema(AVRO_V1, "AVRO"))
    require(isinstance(id1, int) and id1 > 0, "register_schema returns a positive int id",
            repr(id1))

    # Idempotent registration, through clients with empty caches.
    eq(fresh().register_schema(subject, Schema(AVRO_V1, "AVRO")), id1,
       "registering the same schema again returns the same id")
    eq(fresh().register_schema(subject, Schema(AVRO_V1_SPACED, "AVRO")), id1,
       "a whitespace-only variant gets the same id")
    eq(fresh().get_versions(subject), [1], "idempotent registrations create no version")

    s = fresh().get_schema(id1)
    eq(s.schema_type, "AVRO", "get_schema(id).schema_type")
    check(same_json(s.schema_str, AVRO_V1), "get_schema(id) returns the registered schema",
          s.schema_str)

    latest = fresh().get_latest_version(subject)
    eq((latest.schema_id, latest.subject, latest.version, latest.schema.schema_type),
       (id1, subject, 1, "AVRO"), "get_latest_version (id, subject, version, type)")
    check(same_json(latest.schema.schema_str, AVRO_V1), "get_latest_version schema text",
          latest.schema.schema_str)
    v1 = fresh().get_version(subject, 1)
    eq((v1.schema_id, v1.subject, v1.version), (id1, subject, 1), "get_version(subject, 1)")
    found = fresh().lookup_schema(subject, Schema(AVRO_V1_SPACED, "AVRO"))
    eq((found.schema_id, found.subject, found.version), (id1, subject, 1),
       "lookup_schema finds the version by content (whitespace variant)")

    # Compatible evolution under the default BACKWARD level.
    eq(fresh().test_compatibility(subject, Schema(AVRO_V2, "AVRO")), True,
       "test_compatibility(v2 adds a field with default) under BACKWARD")
    id2 = c.register_schema(subject, Schema(AVRO_V2, "AVRO"))
    check(id2 != id1, "a new schema gets a new id", "both {}".format(id1))
    eq(fresh().get_versions(subject), [1, 2], "get_versions after the second version")
    latest = fresh().get_latest_version(subject)
    eq((latest.schema_id, latest.version), (id2, 2), "get_latest_version after v2")
    eq(fresh().get_version(subject, 1).schema_id, id1, "version 1 still has the first id")
    eq(fresh().register_schema(subject, Schema(AVRO_V1, "AVRO")), id1,
       "re-registering an older live version returns its id")
    eq(fresh().get_versions(subject), [1, 2], "re-registering an older version adds none")

    # Incompatible change: test says no, registration is refused with 409.
    eq(fresh().test_compatibility(subject, Schema(AVRO_V3_INCOMPATIBLE, "AVRO")), False,
       "test_compatibility(v3 adds a field without default) under BACKWARD")
    eq(fresh().test_compatibility(subject, Schema(AVRO_V3_INCOMPATIBLE, "AVRO"), version=1),
       False, "test_compatibility against version 1")
    expect_error(lambda: fresh().register_schema(subject, Schema(AVRO_V3_INCOMPATIBLE, "AVRO")),
                 409, (409, 40901), "registering an incompatible schema")
    eq(fresh().get_versions(subject), [1, 2], "a refused registration adds no version")
    expect_error(lambda: fresh().lookup_schema(subject, Schema(AVRO_V3_INCOMPATIBLE, "AVRO")),
                 404, (40403,), "lookup_schema of a schema not in the subject")

    # Subject-level level overrides the global one.
    eq(c.set_compatibility(subject, "none").get("compatibility"), "NONE",
       "set_compatibility(subject, 'none')")
    eq(fresh().get_compatibility(subject), "NONE", "get_compatibility(subject)")
    eq(fresh().get_compatibility(), "BACKWARD", "the global level is unchanged")
    eq(fresh().test_compatibility(subject, Schema(AVRO_V3_INCOMPATIBLE, "AVRO")), True,
       "test_compatibility under NONE")
    id3 = fresh().register_schema(subject, Schema(AVRO_V3_INCOMPATIBLE, "AVRO"))
    check(id3 not in (id1, id2), "v3 gets a third id", "{} {} {}".format(id1, id2, id3))
    eq(fresh().get_versions(subject), [1, 2, 3], "get_versions after v3")

    # The same content under another subject reuses the id and starts at version 1.
    other = "py-avro-copy-value"
    eq(fresh().register_schema(other, Schema(AVRO_V2, "AVRO")), id2,
       "the same schema in another subject reuses its id")
    copy = fresh().get_latest_version(other)
    eq((copy.schema_id, copy.version), (id2, 1), "the copy is version 1 of its subject")
    check({subject, other} <= set(fresh().get_subjects()), "get_subjects lists both subjects",
          repr(fresh().get_subjects()))

    # Soft delete of a version.
    eq(fresh().delete_version(subject, 3), 3, "delete_version returns the version number")
    eq(fresh().get_versions(subject), [1, 2], "get_versions hides the soft-deleted version")
    expect_error(lambda: fresh().get_version(subject, 3), 404, (40402,),
                 "get_version of a soft-deleted version")
    expect_error(lambda: fresh().lookup_schema(subject, Schema(AVRO_V3_INCOMPATIBLE, "AVRO")),
                 404, (40403,), "lookup_schema of a soft-deleted version")
    expect_error(lambda: fresh().delete_version(subject, 3), 404, (40406,),
                 "delete_version of an already soft-deleted version")
    eq(fresh().get_latest_version(subject).version, 2, "latest is 2 after deleting 3")
    s3 = fresh().get_schema(id3)
    check(same_json(s3.schema_str, AVRO_V3_INCOMPATIBLE),
          "an id stays resolvable after its only version was soft-deleted", s3.schema_str)
    # Registering the content of the soft-deleted version again: next version number, same id.
    eq(fresh().register_schema(subject, Schema(AVRO_V3_INCOMPATIBLE, "AVRO")), id3,
       "re-registering soft-deleted content reuses its id")
    eq(fresh().get_versions(subject), [1, 2, 4], "version numbers are not reused")

    # Soft delete of the subject, then a permanent delete of the copy.
    eq(sorted(fresh().delete_subject(subject)), [1, 2, 4],
       "delete_subject returns the deleted versions")
    check(subject not in fresh().get_subjects(), "get_subjects hides a soft-deleted subject")
    expect_error(lambda: fresh().get_versions(subject), 404, (40401,),
                 "get_versions of a soft-deleted subject")
    expect_error(lambda: fresh().get_latest_version(subject), 404, (40401,),
                 "get_latest_version of a soft-deleted subject")
    check(same_json(fresh().get_schema(id1).schema_str, AVRO_V1),
          "ids stay resolvable after the subject was soft-deleted")
    eq(fresh().test_compatibility(subject, Schema(AVRO_V1, "AVRO")), True,
       "test_compatibility against 'latest' of a subject without live versions")
    expect_error(lambda: fresh().test_compatibility(subject, Schema(AVRO_V1, "AVRO"), version=9),
                 404, (40402,), "test_compatibility against a version that does not exist")
    # Registering into the soft-deleted subject again: no check, the numbering goes on.
    eq(fresh().register_schema(subject, Schema(AVRO_V1, "AVRO")), id1,
       "re-registering into a soft-deleted subject reuses the id")
    eq(fresh().get_versions(subject), [5], "the version number after a soft-deleted subject")
    eq(sorted(fresh().delete_subject(subject, permanent=True)), [5],
       "delete_subject(permanent=True) of the revived subject")
    expect_error(lambda: fresh().get_versions(subject), 404, (40401,),
                 "get_versions of a hard-deleted subject")
    eq(fresh().delete_subject(other, permanent=True), [1], "delete_subject(permanent=True)")
    check(other not in fresh().get_subjects(), "get_subjects hides a hard-deleted subject")
    expect_error(lambda: fresh().get_versions(other), 404, (40401,),
                 "get_versions of a hard-deleted subject")


def section_errors():
    c = fresh()
    expect_error(lambda: c.get_schema(987654), 404, (40403,), "get_schema of an unknown id")
    expect_error(lambda: c.get_latest_version("py-no-such-subject"), 404, (40401,),
                 "get_latest_version of an unknown subject")
    expect_error(lambda: c.get_versions("py-no-such-subject"), 404, (40401,),
                 "get_versions of an unknown subject")
    expect_error(lambda: c.lookup_schema("py-no-such-subject", Schema(AVRO_V1, "AVRO")),
                 404, (40401,), "lookup_schema in an unknown subject")
    expect_error(lambda: c.delete_subject("py-no-such-subject"), 404, (40401,),
                 "delete_subject of an unknown subject")
    # A route the server lacks: the client still gets a numeric code (it passes it on as is).
    try:
        c._rest_client.get("no-such-route")
        check(False, "GET of an unknown route fails")
    except SchemaRegistryError as e:
        check(e.http_status_code == 404 and isinstance(e.error_code, int) and
              str(e.error_code).startswith("404"),
              "an unknown route answers 404 with a numeric error_code",
              "got HTTP {} code {!r}".format(e.http_status_code, e.error_code))
    subject = "py-errors-value"
    c.register_schema(subject, Schema(AVRO_V1, "AVRO"))
    expect_error(lambda: c.get_version(subject, 42), 404, (40402,),
                 "get_version of a version that does not exist")
    expect_error(lambda: c.delete_version(subject, 42), 404, (40402,),
                 "delete_version of a version that does not exist")
    expect_error(lambda: c.register_schema(subject, Schema('{"type": "record"}', "AVRO")),
                 422, (42201,), "register_schema with an invalid Avro schema")
    expect_error(lambda: c.register_schema(subject, Schema("{not json", "AVRO")),
                 422, (42201,), "register_schema with text that is not JSON")
    expect_error(lambda: c.register_schema("py-json-bad-value", Schema("[1, 2", "JSON")),
                 422, (42201,), "register_schema with an invalid JSON schema")
    expect_error(lambda: c.register_schema("py-proto-bad-value",
                                           Schema("message { int32 = ; }", "PROTOBUF")),
                 422, (42201,), "register_schema with an invalid Protobuf schema")
    eq(c.get_versions(subject), [1], "failed registrations add no version")
    subjects = c.get_subjects()
    check("py-json-bad-value" not in subjects and "py-proto-bad-value" not in subjects,
          "a failed first registration creates no subject", repr(subjects))


def section_url_encoded_subject():
    # The client quotes subjects with safe='': '/' and ':' arrive as %2F and %3A.
    subject = "py.ns/with:odd chars-value"
    c = fresh()
    sid = c.register_schema(subject, Schema(AVRO_V1, "AVRO"))
    latest = fresh().get_latest_version(subject)
    eq((latest.schema_id, latest.subject, latest.version), (sid, subject, 1),
       "get_latest_version of a subject with '/', ':' and ' '")
    eq(fresh().get_versions(subject), [1], "get_versions of a URL-encoded subject")
    check(subject in fresh().get_subjects(), "get_subjects lists the subject decoded",
          repr(fresh().get_subjects()))


def section_protobuf_registration():
    subject = "py-proto-value"
    c = fresh()
    sid = c.register_schema(subject, Schema(PROTO_TEXT, "PROTOBUF"))
    s = fresh().get_schema(sid)
    eq(s.schema_type, "PROTOBUF", "get_schema(id).schema_type for Protobuf")
    check("message Order" in s.schema_str and "sluice.test" in s.schema_str,
          "the stored Protobuf text keeps the package and message", s.schema_str)
    found = fresh().lookup_schema(subject, Schema(PROTO_TEXT, "PROTOBUF"))
    eq((found.schema_id, found.version, found.schema.schema_type), (sid, 1, "PROTOBUF"),
       "lookup_schema of a Protobuf schema")
    eq(fresh().register_schema(subject, Schema(PROTO_TEXT, "PROTOBUF")), sid,
       "Protobuf registration is idempotent")
    # Same text registered as another type is a different schema.
    expect_error(lambda: fresh().lookup_schema(subject, Schema(AVRO_V1, "AVRO")), 404, (40403,),
                 "lookup_schema of an Avro schema in a Protobuf subject")


def section_json_serde():
    c = fresh()
    topic = "py-json"
    ctx = SerializationContext(topic, MessageField.VALUE)
    subject = topic + "-value"
    ser = JSONSerializer(JSON_SCHEMA, c)
    reading = {"sensor": "t-1", "value": 21.5, "tags": ["roof", "north"]}
    data = ser(reading, ctx)
    require(isinstance(data, bytes) and len(data) > 5, "JSONSerializer returns bytes",
            repr(data))
    latest = fresh().get_latest_version(subject)
    eq((latest.subject, latest.version, latest.schema.schema_type), (subject, 1, "JSON"),
       "the serializer registered the schema under {topic}-value")
    check(same_json(latest.schema.schema_str, JSON_SCHEMA), "the stored JSON schema",
          latest.schema.schema_str)
    eq(data[0], 0, "wire format: magic byte")
    eq(struct.unpack(">I", data[1:5])[0], latest.schema_id,
       "wire format: bytes 1-4 are the registered id, big-endian")
    eq(json.loads(data[5:].decode("utf-8")), reading, "wire format: the rest is the JSON text")
    eq(JSONDeserializer(JSON_SCHEMA)(data, ctx), reading, "JSONDeserializer round trip")
    eq(fresh().get_schema(latest.schema_id).schema_type, "JSON",
       "get_schema(id).schema_type for JSON")

    # A serializer that must not register looks the schema up (POST /subjects/{s}).
    ser2 = JSONSerializer(JSON_SCHEMA, fresh(), conf={"auto.register.schemas": False})
    data2 = ser2({"sensor": "t-2", "value": 3}, ctx)
    eq(struct.unpack(">bI", data2[:5]), (0, latest.schema_id),
       "a lookup-only serializer writes the same id")
    eq(JSONDeserializer(JSON_SCHEMA)(data2, ctx), {"sensor": "t-2", "value": 3},
       "round trip of the lookup-only serializer")
    try:
        ser(({"sensor": 5, "value": 1}), ctx)
        check(False, "JSONSerializer rejects a record that violates the schema")
    except SerializationError:
        check(True, "JSONSerializer rejects a record that violates the schema")

    # Incompatible evolution through the serializer's own registration path.
    bad = JSONSerializer(JSON_SCHEMA_INCOMPATIBLE, fresh())
    try:
        bad({"sensor": 1, "value": 1}, ctx)
        check(False, "a serializer with an incompatible JSON schema fails",
              "serialization succeeded")
    except SchemaRegistryError as e:
        eq((e.http_status_code, e.error_code in (409, 40901)), (409, True),
           "incompatible JSON schema: HTTP 409 (code {})".format(e.error_code))
    eq(fresh().test_compatibility(subject, Schema(JSON_SCHEMA_INCOMPATIBLE, "JSON")), False,
       "test_compatibility of the incompatible JSON schema")
    eq(fresh().get_versions(subject), [1], "the JSON subject still has one version")

    # A consumer that meets an unknown id in the wire prefix gets 404 40403.
    expect_error(lambda: fresh().get_schema(latest.schema_id + 1000), 404, (40403,),
                 "get_schema of an id past the last one handed out")


SECTIONS = [
    section_root_and_global_config,
    section_avro_lifecycle,
    section_errors,
    section_url_encoded_subject,
    section_protobuf_registration,
    section_json_serde,
]


def main():
    for section in SECTIONS:
        try:
            section()
        except SectionAbort as e:
            print("  ({} stopped after: {})".format(section.__name__, e), flush=True)
        except Exception:  # noqa: BLE001 - an unexpected exception is a failed check too
            msg = "FAIL: {} raised:\n{}".format(section.__name__, traceback.format_exc())
            print(msg, flush=True)
            failures.append(msg)
    if failures:
        print("registry_client.py: {} failures ({} checks run) against {}".format(
            len(failures), checks, URL))
        return 1
    print("registry_client.py: all {} checks OK against {}".format(checks, URL))
    return 0


if __name__ == "__main__":
    sys.exit(main())
