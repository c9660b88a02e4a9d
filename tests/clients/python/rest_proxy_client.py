#!/usr/bin/python3
"""Confluent REST Proxy shapes and CloudEvents against a running Sluice, with python3-requests.

What a REST Proxy producer sends (v2 json/binary/jsonschema with Confluent's media types, v3
single and streamed records, gzip bodies) and what it reads back (offsets[] per record, error
codes, statuses); the JSON Schema and Protobuf records are then decoded by Confluent's own
JSONDeserializer and ProtobufDeserializer (python3-confluent-kafka) from the bytes Sluice stored,
so the wire format is the real one. Avro records are checked byte for byte only: Confluent's
AvroDeserializer needs fastavro, which Debian 12 does not package (the gtests decode them with
the C++ validator instead).

Usage: rest_proxy_client.py REGISTRY_URL   (SLUICE_HTTP_URL names the ingest listener)
Exit status 0 when every check passed; 1 with one line per failed check otherwise.
"""

import base64
import gzip
import json
import os
import sys
import traceback

import requests
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.json_schema import JSONDeserializer
from confluent_kafka.schema_registry.protobuf import ProtobufDeserializer
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from confluent_kafka.serialization import MessageField, SerializationContext

REGISTRY = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8081"
HTTP = os.environ.get("SLUICE_HTTP_URL", "http://127.0.0.1:8080")
V2 = "application/vnd.kafka.v2+json"

failures = []
checks = 0


def check(cond, what):
    global checks
    checks += 1
    if not cond:
        failures.append(what)


def create_topic(name, partitions=1):
    r = requests.post(f"{HTTP}/v1/topics", json={"name": name, "partitions": partitions})
    check(r.status_code == 201, f"create {name}: {r.status_code} {r.text}")


def events(topic, partition=0):
    r = requests.get(f"{HTTP}/v1/topics/{topic}/partitions/{partition}/events?offset=0")
    return r.json()["events"]


def v2_json_and_binary():
    create_topic("py_v2", 3)
    body = {"records": [{"key": "k", "value": {"a": 1}}, {"value": [1, 2], "partition": 2}]}
    r = requests.post(f"{HTTP}/topics/py_v2", json=body,
                      headers={"Content-Type": "application/vnd.kafka.json.v2+json",
                               "Accept": V2})
    check(r.status_code == 200, f"v2 json status {r.status_code} {r.text}")
    check(r.headers.get("Content-Type", "").startswith(V2), f"v2 content type {r.headers}")
    out = r.json()
    check(set(out) == {"key_schema_id", "value_schema_id", "offsets"}, f"v2 keys {out}")
    check(len(out["offsets"]) == 2, f"v2 offsets {out}")
    for o in out["offsets"]:
        check(set(o) == {"partition", "offset", "error_code", "error"}, f"offset entry {o}")
        check(o["error_code"] is None and isinstance(o["offset"], int), f"offset entry {o}")
    check(out["offsets"][1]["partition"] == 2, f"explicit partition {out}")

    create_topic("py_bin")
    b64 = base64.b64encode(b"\x00\x01binary").decode()
    body = {"records": [{"value": b64}, {"value": "@@not-base64@@"}]}
    r = requests.post(f"{HTTP}/topics/py_bin", data=gzip.compress(json.dumps(body).encode()),
                      headers={"Content-Type": "application/vnd.kafka.binary.v2+json",
                               "Content-Encoding": "gzip"})
    check(r.status_code == 200, f"v2 binary partial status {r.status_code} {r.text}")
    offs = r.json()["offsets"]
    check(offs[0]["offset"] == 0 and offs[0]["error_code"] is None, f"binary ok record {offs}")
    check(offs[1]["offset"] is None and offs[1]["partition"] is None
          and offs[1]["error_code"] == 40002 and "base64" in offs[1]["error"],
          f"binary bad record {offs}")
    r = requests.post(f"{HTTP}/topics/py_bin", json={"records": [{"value": "!"}]},
                      headers={"Content-Type": "application/vnd.kafka.binary.v2+json"})
    check(r.status_code == 400, f"all records failed must not be 200: {r.status_code} {r.text}")

    r = requests.post(f"{HTTP}/topics/py_missing", json={"records": [{"value": 1}]},
                      headers={"Content-Type": "application/vnd.kafka.json.v2+json"})
    check(r.status_code == 404 and r.json().get("error_code") == 40401,
          f"unknown topic {r.status_code} {r.text}")
    check(set(r.json()) == {"error_code", "message"}, f"error shape {r.text}")


def v2_jsonschema():
    create_topic("py_js")
    schema = {"type": "object", "properties": {"name": {"type": "string"}},
              "required": ["name"]}
    body = {"value_schema": json.dumps(schema),
            "records": [{"value": {"name": "ada"}}, {"value": {"name": 3}}]}
    r = requests.post(f"{HTTP}/topics/py_js", json=body,
                      headers={"Content-Type": "application/vnd.kafka.jsonschema.v2+json"})
    check(r.status_code == 200, f"jsonschema status {r.status_code} {r.text}")
    out = r.json()
    sid = out.get("value_schema_id")
    check(isinstance(sid, int) and sid > 0, f"value_schema_id {out}")
    check(out["offsets"][1]["error_code"] == 42206, f"invalid record {out}")
    r = requests.post(f"{HTTP}/topics/py_js",
                      json={"value_schema_id": 424242, "records": [{"value": {"name": "x"}}]},
                      headers={"Content-Type": "application/vnd.kafka.jsonschema.v2+json"})
    check(r.status_code == 404 and r.json().get("error_code") == 40403,
          f"unknown schema id {r.status_code} {r.text}")
    # Confluent's deserializer reads what Sluice stored.
    stored = events("py_js")
    check(len(stored) == 1, f"stored {stored}")
    raw = stored[0]["value"].encode("utf-8")
    SchemaRegistryClient({"url": REGISTRY}).get_schema(sid)  # the id resolves in the registry
    deser = JSONDeserializer(json.dumps(schema))
    value = deser(raw, SerializationContext("py_js", MessageField.VALUE))
    check(value == {"name": "ada"}, f"deserialized {value!r}")


def protobuf_message_class():
    """t.Reading {int32 n = 1; string s = 2;} built at run time (no protoc needed)."""
    fdp = descriptor_pb2.FileDescriptorProto(name="reading.proto", package="t", syntax="proto3")
    msg = fdp.message_type.add(name="Reading")
    msg.field.add(name="n", number=1, type=descriptor_pb2.FieldDescriptorProto.TYPE_INT32,
                  label=descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL)
    msg.field.add(name="s", number=2, type=descriptor_pb2.FieldDescriptorProto.TYPE_STRING,
                  label=descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fdp)
    return message_factory.MessageFactory(pool).GetPrototype(
        pool.FindMessageTypeByName("t.Reading"))


def v2_protobuf_and_avro():
    create_topic("py_pb")
    proto = 'syntax = "proto3";\npackage t;\nmessage Reading { int32 n = 1; string s = 2; }\n'
    body = {"value_schema": proto,
            "records": [{"value": {"n": 5, "s": "hi"}}, {"value": {"n": "many"}}]}
    r = requests.post(f"{HTTP}/topics/py_pb", json=body,
                      headers={"Content-Type": "application/vnd.kafka.protobuf.v2+json"})
    check(r.status_code == 200, f"protobuf status {r.status_code} {r.text}")
    out = r.json()
    sid = out.get("value_schema_id")
    check(isinstance(sid, int) and sid > 0, f"protobuf value_schema_id {out}")
    check(out["offsets"][1]["error_code"] == 42206, f"protobuf invalid record {out}")
    check(SchemaRegistryClient({"url": REGISTRY}).get_schema(sid).schema_type == "PROTOBUF",
          "protobuf schema type in the registry")
    stored = events("py_pb")
    check(len(stored) == 1, f"protobuf stored {stored}")
    raw = stored[0]["value"].encode("utf-8")  # the chosen values encode to ASCII bytes
    msg = ProtobufDeserializer(protobuf_message_class())(
        raw, SerializationContext("py_pb", MessageField.VALUE))
    check(msg.n == 5 and msg.s == "hi", f"protobuf deserialized {msg!r}")

    create_topic("py_avro")
    schema = {"type": "record", "name": "Reading",
              "fields": [{"name": "n", "type": "int"}, {"name": "s", "type": "string"}]}
    body = {"value_schema": json.dumps(schema),
            "records": [{"value": {"n": 5, "s": "hi"}}, {"value": {"n": "x", "s": ""}}]}
    r = requests.post(f"{HTTP}/topics/py_avro", json=body,
                      headers={"Content-Type": "application/vnd.kafka.avro.v2+json"})
    check(r.status_code == 200, f"avro status {r.status_code} {r.text}")
    out = r.json()
    sid = out.get("value_schema_id")
    check(out["offsets"][1]["error_code"] == 42206
          and out["offsets"][1]["error"].startswith("records[1].value.n: expected int"),
          f"avro invalid record {out}")
    stored = events("py_avro")
    raw = stored[0]["value"].encode("utf-8")
    check(raw == b"\x00" + sid.to_bytes(4, "big") + b"\x0a\x04hi", f"avro bytes {raw!r}")


def v3():
    create_topic("py_v3", 2)
    clusters = requests.get(f"{HTTP}/v3/clusters").json()
    cid = clusters["data"][0]["cluster_id"]
    url = f"{HTTP}/v3/clusters/{cid}/topics/py_v3/records"
    r = requests.post(url, json={"partition_id": 1, "key": {"type": "STRING", "data": "k"},
                                 "value": {"type": "JSON", "data": {"x": 1}}})
    check(r.status_code == 200, f"v3 single {r.status_code} {r.text}")
    rep = r.json()
    check(rep["error_code"] == 200 and rep["partition_id"] == 1 and rep["offset"] == 0
          and rep["topic_name"] == "py_v3" and rep["cluster_id"] == cid, f"v3 report {rep}")
    stream = "".join(json.dumps(x) for x in [
        {"value": {"type": "STRING", "data": "a"}},
        {"value": {"type": "BINARY", "data": "*"}},
        {"value": {"type": "STRING", "data": "c"}},
    ])
    r = requests.post(url, data=(s.encode() for s in [stream]),  # a generator: chunked upload
                      headers={"Content-Type": "application/json"})
    check(r.status_code == 200, f"v3 stream {r.status_code} {r.text}")
    reports = [json.loads(line) for line in r.text.splitlines() if line.strip()]
    check([x["error_code"] for x in reports] == [200, 400, 200], f"v3 stream reports {reports}")


def cloudevents():
    create_topic("py_ce")
    r = requests.post(f"{HTTP}/v1/topics/py_ce/events", data=b'{"k":1}',
                      headers={"Content-Type": "application/json", "ce-specversion": "1.0",
                               "ce-id": "1", "ce-source": "/py", "ce-type": "py.test",
                               "ce-partitionkey": "pk"})
    check(r.status_code == 200, f"ce binary {r.status_code} {r.text}")
    r = requests.post(f"{HTTP}/v1/topics/py_ce/events",
                      data=json.dumps({"specversion": "1.0", "id": "2", "type": "t"}),
                      headers={"Content-Type": "application/cloudevents+json"})
    check(r.status_code == 400 and "source" in r.json()["message"], f"ce missing {r.text}")
    stored = events("py_ce")
    check(len(stored) == 1 and stored[0]["key"] == "pk"
          and stored[0]["headers"].get("ce_type") == "py.test", f"ce stored {stored}")


for test in (v2_json_and_binary, v2_jsonschema, v2_protobuf_and_avro, v3, cloudevents):
    try:
        test()
    except Exception:  # noqa: BLE001 - report and go on
        failures.append(f"{test.__name__} raised:\n{traceback.format_exc()}")

for f in failures:
    print("FAIL:", f)
print(f"{checks} checks, {len(failures)} failed")
sys.exit(1 if failures else 0)
