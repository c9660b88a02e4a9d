#!/usr/bin/env node
// End-to-end test of the Sluice schema registry with @kafkajs/confluent-schema-registry:
// register, encode and decode round trips for AVRO, JSON and PROTOBUF schemas, the wire format
// (magic byte 0, 4-byte big-endian schema id, then the payload) and the registry calls the
// library makes (GET/PUT /config/{subject}, lookups, latest version, errors).
//
// Usage: node registry_roundtrip.js http://127.0.0.1:PORT
// Exit status 0 when every check passed; 1 with one line per failed check otherwise.
'use strict';

const assert = require('node:assert/strict');
const avsc = require('avsc');
const protobuf = require('protobufjs');
const {
  SchemaRegistry,
  SchemaType,
  COMPATIBILITY,
} = require('@kafkajs/confluent-schema-registry');

const URL = (process.argv[2] || 'http://127.0.0.1:8081').replace(/\/+$/, '');

const failures = [];
let checks = 0;

class SectionAbort extends Error {}

// Records one check; returns whether it held.
function check(cond, what, detail) {
  checks += 1;
  if (!cond) {
    const msg = `FAIL: ${what}${detail ? `: ${detail}` : ''}`;
    console.log(msg);
    failures.push(msg);
  }
  return cond;
}

function require_(cond, what, detail) {
  if (!check(cond, what, detail)) throw new SectionAbort(what);
}

function show(v) {
  return Buffer.isBuffer(v) ? v.toString('hex') : JSON.stringify(v);
}

function eq(actual, expected, what) {
  let ok = true;
  try {
    assert.deepStrictEqual(actual, expected);
  } catch (_) {
    ok = false;
  }
  return check(ok, what, `expected ${show(expected)}, got ${show(actual)}`);
}

// The promise must reject; returns the error (or null after recording a failure).
async function rejects(promise, what) {
  try {
    const v = await promise;
    check(false, what, `expected an error, got ${show(v)}`);
    return null;
  } catch (e) {
    return e;
  }
}

// A client with an empty cache: decode() must then fetch the writer schema by id.
function freshRegistry() {
  return new SchemaRegistry({ host: URL, retry: { retries: 0 } });
}

// Plain HTTP call to the registry, for what the library does not expose.
async function raw(method, path, body) {
  const res = await fetch(URL + path, {
    method,
    headers: body === undefined ? {} : { 'Content-Type': 'application/vnd.schemaregistry.v1+json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json = null;
  try {
    json = JSON.parse(text);
  } catch (_) {
    // left null: checks on json then fail with the text shown
  }
  return { status: res.status, contentType: res.headers.get('content-type') || '', text, json };
}

async function expectRawError(method, path, body, status, code, what) {
  const r = await raw(method, path, body);
  check(r.status === status && r.json !== null && r.json.error_code === code &&
    typeof r.json.message === 'string', what,
  `expected HTTP ${status} {"error_code": ${code}, "message": ...}, ` +
    `got HTTP ${r.status} ${r.text}`);
}

// Checks the Confluent wire prefix and returns the payload after it.
function checkWire(buf, id, what) {
  require_(Buffer.isBuffer(buf) && buf.length >= 5, `${what}: encode returns a Buffer`, show(buf));
  eq(buf[0], 0, `${what}: magic byte`);
  eq(buf.readInt32BE(1), id, `${what}: bytes 1-4 are the registered id, big-endian`);
  return buf.subarray(5);
}

// Whether text parses to the same JSON value as expected.
function sameJson(text, expected) {
  try {
    assert.deepStrictEqual(JSON.parse(text), expected);
    return true;
  } catch (_) {
    return false;
  }
}

// Decoded values are class instances (avsc records, protobufjs messages): compare as JSON.
function plain(v) {
  return JSON.parse(JSON.stringify(v));
}

const AVRO_V1 = {
  type: 'record',
  name: 'User',
  namespace: 'sluice.test',
  fields: [
    { name: 'name', type: 'string' },
    { name: 'visits', type: 'int' },
    { name: 'email', type: ['null', 'string'], default: null },
  ],
};
const AVRO_V2 = {
  ...AVRO_V1,
  fields: [...AVRO_V1.fields, { name: 'country', type: 'string', default: 'NL' }],
};
const AVRO_INCOMPATIBLE = {
  ...AVRO_V1,
  fields: [...AVRO_V1.fields, { name: 'mandatory', type: 'long' }],
};

async function sectionAvro() {
  const subject = 'node-avro-value';
  const registry = new SchemaRegistry({ host: URL, retry: { retries: 0 } });

  await expectRawError('GET', `/config/${subject}`, undefined, 404, 40408,
    'GET /config/{subject} before the first registration (kafkajs reads a 404 as "new subject")');
  const { id } = await registry.register(
    { type: SchemaType.AVRO, schema: JSON.stringify(AVRO_V1) }, { subject });
  require_(Number.isInteger(id) && id > 0, 'register returns a positive integer id', show(id));
  const cfg = await raw('GET', `/config/${subject}`);
  eq([cfg.status, cfg.json && cfg.json.compatibilityLevel], [200, 'BACKWARD'],
    'kafkajs set the subject level after the first registration (PUT /config/{subject})');

  // Second registration: kafkajs now finds the subject level, compares it, registers again.
  const again = await freshRegistry().register(
    { type: SchemaType.AVRO, schema: JSON.stringify(AVRO_V1) }, { subject });
  eq(again.id, id, 'registering the same Avro schema again returns the same id');

  // kafkajs uses avsc with its defaults: ['null', 'string'] unions are not wrapped.
  const user = { name: 'Ada', visits: 3, email: 'ada@example.org' };
  const buf = await registry.encode(id, user);
  const payload = checkWire(buf, id, 'avro');
  eq(payload, avsc.Type.forSchema(AVRO_V1).toBuffer(user),
    'avro: the payload is the Avro binary encoding of the record');

  const decoded = await freshRegistry().decode(buf);
  eq(plain(decoded), { name: 'Ada', visits: 3, email: 'ada@example.org' },
    'avro: a fresh client decodes the record (writer schema fetched by id)');

  eq(await freshRegistry().getLatestSchemaId(subject), id, 'getLatestSchemaId');
  eq(await freshRegistry().getRegistryId(subject, 1), id, 'getRegistryId(subject, 1)');
  eq(await freshRegistry().getRegistryIdBySchema(subject,
    { type: SchemaType.AVRO, schema: JSON.stringify(AVRO_V1, null, 2) }), id,
  'getRegistryIdBySchema (POST /subjects/{subject}) with a re-indented schema');

  // Compatible evolution, then reading old data with the new schema.
  const v2 = await registry.register(
    { type: SchemaType.AVRO, schema: JSON.stringify(AVRO_V2) }, { subject });
  check(v2.id !== id, 'a compatible new version gets a new id', show([id, v2.id]));
  eq(await freshRegistry().getLatestSchemaId(subject), v2.id, 'latest id after v2');
  const old = await freshRegistry().decode(buf, { [SchemaType.AVRO]: { readerSchema: AVRO_V2 } });
  eq(plain(old), { name: 'Ada', visits: 3, email: 'ada@example.org', country: 'NL' },
    'avro: v1 data read with the v2 reader schema gets the default');
  const buf2 = await registry.encode(v2.id, { name: 'Bo', visits: 1, email: null, country: 'SE' });
  checkWire(buf2, v2.id, 'avro v2');
  eq(plain(await freshRegistry().decode(buf2)),
    { name: 'Bo', visits: 1, email: null, country: 'SE' }, 'avro v2 round trip');

  const compat = await registry.api.Subject.compatible({
    subject, body: { schema: JSON.stringify(AVRO_INCOMPATIBLE) } });
  eq(compat.data().is_compatible, false,
    'POST /compatibility/subjects/{subject}/versions/latest says incompatible');
  const err = await rejects(freshRegistry().register(
    { type: SchemaType.AVRO, schema: JSON.stringify(AVRO_INCOMPATIBLE) }, { subject }),
  'registering an incompatible Avro schema fails');
  if (err) eq(err.status, 409, `incompatible registration: HTTP status (${err.message})`);

  // A subject whose level differs from the client's option: kafkajs refuses on its own.
  const full = 'node-avro-full-value';
  await registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(AVRO_V1) },
    { subject: full, compatibility: COMPATIBILITY.FULL });
  const fullCfg = await raw('GET', `/config/${full}`);
  eq(fullCfg.json && fullCfg.json.compatibilityLevel, 'FULL',
    'GET /config/{subject} returns the level kafkajs set');
  const mismatch = await rejects(freshRegistry().register(
    { type: SchemaType.AVRO, schema: JSON.stringify(AVRO_V1) }, { subject: full }),
  'kafkajs refuses to register when the subject level differs from its option');
  if (mismatch) {
    eq(mismatch.name, 'ConfluentSchemaRegistryCompatibilityError',
      `level mismatch error type (${mismatch.message})`);
  }

  // Default subject naming from the Avro schema: namespace.name.
  const named = await freshRegistry().register(AVRO_V1);
  eq(named.id, id, 'registering the raw Avro schema under sluice.test.User reuses the id');
  const subjects = await raw('GET', '/subjects');
  check(subjects.status === 200 && Array.isArray(subjects.json) &&
    [subject, full, 'sluice.test.User'].every((s) => subjects.json.includes(s)),
  'GET /subjects lists the registered subjects', subjects.text);
  check(/^application\/(vnd\.schemaregistry\.v1\+json|vnd\.schemaregistry\+json|json)/.test(
    subjects.contentType), 'responses are JSON media types', subjects.contentType);
}

const JSON_SCHEMA = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  title: 'Click',
  type: 'object',
  properties: {
    page: { type: 'string' },
    x: { type: 'integer' },
    y: { type: 'integer' },
    labels: { type: 'array', items: { type: 'string' } },
  },
  required: ['page', 'x', 'y'],
  additionalProperties: false,
};

async function sectionJson() {
  const subject = 'node-json-value';
  const registry = new SchemaRegistry({ host: URL, retry: { retries: 0 } });
  const { id } = await registry.register(
    { type: SchemaType.JSON, schema: JSON.stringify(JSON_SCHEMA) }, { subject });
  require_(Number.isInteger(id) && id > 0, 'json: register returns an id', show(id));
  eq((await freshRegistry().register(
    { type: SchemaType.JSON, schema: JSON.stringify(JSON_SCHEMA, null, 1) }, { subject })).id,
  id, 'json: registering a re-indented copy returns the same id');

  const click = { page: '/home', x: 10, y: 20, labels: ['a', 'b'] };
  const buf = await registry.encode(id, click);
  const payload = checkWire(buf, id, 'json');
  eq(JSON.parse(payload.toString('utf8')), click, 'json: the payload is the JSON document');
  eq(await freshRegistry().decode(buf), click, 'json: a fresh client decodes the document');

  const byId = await raw('GET', `/schemas/ids/${id}`);
  eq([byId.status, byId.json && byId.json.schemaType], [200, 'JSON'],
    'GET /schemas/ids/{id} reports schemaType JSON');
  check(byId.json && typeof byId.json.schema === 'string' &&
    sameJson(byId.json.schema, JSON_SCHEMA),
  'GET /schemas/ids/{id} returns the JSON schema (as a string)', byId.text);

  const invalid = await rejects(registry.encode(id, { page: 7, x: 1, y: 2 }),
    'json: encoding a document that violates the schema fails');
  if (invalid) {
    eq(invalid.name, 'ConfluentSchemaRegistryValidationError', 'json: validation error type');
  }
}

const PROTO = `syntax = "proto3";
package sluice.test;

message Order {
  int32 id = 1;
  string item = 2;
  repeated string tags = 3;
  Status status = 4;

  enum Status {
    UNKNOWN = 0;
    PLACED = 1;
    SHIPPED = 2;
  }
}
`;

const PROTO_COMMON = `syntax = "proto3";
package sluice.common;

message Money {
  int32 units = 1;
  string currency = 2;
}
`;

const PROTO_PAYMENT = `syntax = "proto3";
package sluice.pay;

import "sluice/common.proto";

message Payment {
  string id = 1;
  sluice.common.Money amount = 2;
}
`;

async function sectionProtobuf() {
  const subject = 'node-proto-value';
  const registry = new SchemaRegistry({ host: URL, retry: { retries: 0 } });
  const { id } = await registry.register({ type: SchemaType.PROTOBUF, schema: PROTO },
    { subject });
  require_(Number.isInteger(id) && id > 0, 'protobuf: register returns an id', show(id));
  eq((await freshRegistry().register({ type: SchemaType.PROTOBUF, schema: PROTO },
    { subject })).id, id, 'protobuf: registration is idempotent');

  const order = { id: 7, item: 'book', tags: ['gift', 'express'], status: 2 };
  const buf = await registry.encode(id, order);
  const payload = checkWire(buf, id, 'protobuf');
  const Order = protobuf.parse(PROTO).root.lookupType('sluice.test.Order');
  // kafkajs writes no message-index list: the message bytes follow the id directly.
  eq(payload, Buffer.from(Order.encode(Order.create(order)).finish()),
    'protobuf: the payload is the Protobuf encoding of the message');
  const decoded = await freshRegistry().decode(buf);
  eq(plain(decoded), { id: 7, item: 'book', tags: ['gift', 'express'], status: 'SHIPPED' },
    'protobuf: a fresh client decodes the message from the schema the registry returns');
  const byId = await raw('GET', `/schemas/ids/${id}`);
  eq([byId.status, byId.json && byId.json.schemaType], [200, 'PROTOBUF'],
    'GET /schemas/ids/{id} reports schemaType PROTOBUF');

  // A reference: the imported file is its own subject, named by its import path.
  const common = await registry.register({ type: SchemaType.PROTOBUF, schema: PROTO_COMMON },
    { subject: 'node-proto-common' });
  const references = [{ name: 'sluice/common.proto', subject: 'node-proto-common', version: 1 }];
  const pay = await registry.register(
    { type: SchemaType.PROTOBUF, schema: PROTO_PAYMENT, references },
    { subject: 'node-pay-value' });
  check(pay.id !== common.id && pay.id !== id, 'protobuf: the referrer gets its own id',
    show([id, common.id, pay.id]));
  const payBuf = await registry.encode(pay.id,
    { id: 'p-1', amount: { units: 12, currency: 'EUR' } });
  checkWire(payBuf, pay.id, 'protobuf with reference');
  eq(plain(await freshRegistry().decode(payBuf)),
    { id: 'p-1', amount: { units: 12, currency: 'EUR' } },
    'protobuf: a fresh client decodes a message whose type comes from a reference');
  const payById = await raw('GET', `/schemas/ids/${pay.id}`);
  eq(payById.json && payById.json.references, references,
    'GET /schemas/ids/{id} returns the references');
  const referencedBy = await raw('GET', '/subjects/node-proto-common/versions/1/referencedby');
  eq(referencedBy.json, [pay.id], 'GET .../versions/1/referencedby lists the referrer');
  await expectRawError('DELETE', '/subjects/node-proto-common/versions/1', undefined, 422, 42206,
    'a referenced version cannot be deleted');
}

const AVRO_MONEY = {
  type: 'record',
  name: 'Money',
  namespace: 'sluice.common',
  fields: [{ name: 'units', type: 'int' }, { name: 'currency', type: 'string' }],
};
const AVRO_INVOICE = {
  type: 'record',
  name: 'Invoice',
  namespace: 'sluice.test',
  fields: [{ name: 'number', type: 'string' }, { name: 'total', type: 'sluice.common.Money' }],
};
const JSON_ADDRESS = {
  $id: 'https://sluice.test/address.json',
  type: 'object',
  properties: { city: { type: 'string' }, zip: { type: 'string' } },
  required: ['city'],
};
const JSON_CUSTOMER = {
  title: 'Customer',
  type: 'object',
  properties: {
    name: { type: 'string' },
    address: { $ref: 'https://sluice.test/address.json' },
  },
  required: ['name', 'address'],
};

// Avro and JSON schemas that use a type from another subject (Protobuf: see sectionProtobuf).
async function sectionReferences() {
  const registry = new SchemaRegistry({ host: URL, retry: { retries: 0 } });

  const money = await registry.register(
    { type: SchemaType.AVRO, schema: JSON.stringify(AVRO_MONEY) }, { subject: 'node-avro-money' });
  const avroRefs = [{ name: 'sluice.common.Money', subject: 'node-avro-money', version: 1 }];
  const invoice = await registry.register(
    { type: SchemaType.AVRO, schema: JSON.stringify(AVRO_INVOICE), references: avroRefs },
    { subject: 'node-invoice-value' });
  check(invoice.id !== money.id, 'avro reference: the referrer gets its own id',
    show([money.id, invoice.id]));
  const inv = { number: 'INV-1', total: { units: 99, currency: 'EUR' } };
  const invBuf = await registry.encode(invoice.id, inv);
  checkWire(invBuf, invoice.id, 'avro with reference');
  eq(plain(await freshRegistry().decode(invBuf)), inv,
    'avro reference: a fresh client decodes a record whose field type comes from a reference');
  const invVersion = await raw('GET', '/subjects/node-invoice-value/versions/1');
  eq(invVersion.json && invVersion.json.references, avroRefs,
    'avro reference: GET /subjects/{s}/versions/1 returns the references');
  const noRefs = await raw('POST', '/subjects/node-invoice2-value/versions',
    { schema: JSON.stringify(AVRO_INVOICE) });
  eq([noRefs.status, noRefs.json && noRefs.json.error_code], [422, 42201],
    'avro: a schema naming an unknown type without references is invalid');

  const address = await registry.register(
    { type: SchemaType.JSON, schema: JSON.stringify(JSON_ADDRESS) },
    { subject: 'node-json-address' });
  const jsonRefs = [
    { name: 'https://sluice.test/address.json', subject: 'node-json-address', version: 1 }];
  const customer = await registry.register(
    { type: SchemaType.JSON, schema: JSON.stringify(JSON_CUSTOMER), references: jsonRefs },
    { subject: 'node-customer-value' });
  check(customer.id !== address.id, 'json reference: the referrer gets its own id',
    show([address.id, customer.id]));
  const cust = { name: 'Cy', address: { city: 'Delft', zip: '2611' } };
  const custBuf = await registry.encode(customer.id, cust);
  checkWire(custBuf, customer.id, 'json with reference');
  eq(await freshRegistry().decode(custBuf), cust,
    'json reference: a fresh client decodes and validates with the referenced schema');
  const bad = await rejects(registry.encode(customer.id, { name: 'Cy', address: { zip: '1' } }),
    'json reference: a document violating the referenced schema is refused');
  if (bad) eq(bad.name, 'ConfluentSchemaRegistryValidationError', 'json reference: error type');
}

// Producers starting together (a deploy) register the same schema at once: one version, one id.
async function sectionConcurrentRegistration() {
  const subject = 'node-burst-value';
  const schema = { ...AVRO_V1, name: 'Burst' };
  const results = await Promise.all(Array.from({ length: 8 }, () => freshRegistry().register(
    { type: SchemaType.AVRO, schema: JSON.stringify(schema) }, { subject })));
  const ids = [...new Set(results.map((r) => r.id))];
  eq(ids.length, 1, `8 concurrent registrations of one schema give one id (${show(ids)})`);
  const versions = await raw('GET', `/subjects/${subject}/versions`);
  eq(versions.json, [1], '8 concurrent registrations of one schema create one version');

  // Distinct schemas in distinct subjects at once: distinct ids, each resolvable.
  const distinct = await Promise.all(Array.from({ length: 8 }, (_, i) => freshRegistry().register(
    { type: SchemaType.AVRO, schema: JSON.stringify({ ...AVRO_V1, name: `Burst${i}` }) },
    { subject: `node-burst-${i}-value` })));
  const distinctIds = distinct.map((r) => r.id);
  eq(new Set(distinctIds).size, 8,
    `concurrent distinct schemas get distinct ids (${show(distinctIds)})`);
  for (let i = 0; i < 8; i++) {
    const byId = await raw('GET', `/schemas/ids/${distinctIds[i]}`);
    check(byId.status === 200 && byId.json && JSON.parse(byId.json.schema).name === `Burst${i}`,
      `id ${distinctIds[i]} resolves to schema Burst${i}`, byId.text);
  }
}

async function sectionErrors() {
  const registry = freshRegistry();
  const unknownId = 987654;
  const e1 = await rejects(registry.getSchema(unknownId), 'getSchema of an unknown id fails');
  if (e1) eq(e1.status, 404, `getSchema of an unknown id: HTTP status (${e1.message})`);
  await expectRawError('GET', `/schemas/ids/${unknownId}`, undefined, 404, 40403,
    'GET /schemas/ids/{unknown id}');

  const forged = Buffer.concat([Buffer.from([0, 0, 0x0f, 0x12, 0x06]), Buffer.from('{}')]);
  const e2 = await rejects(freshRegistry().decode(forged),
    'decoding a record with an unknown id fails');
  if (e2) eq(e2.status, 404, `decode with an unknown id: HTTP status (${e2.message})`);

  const e3 = await rejects(freshRegistry().getLatestSchemaId('node-no-such-subject'),
    'getLatestSchemaId of an unknown subject fails');
  if (e3) {
    eq(e3.status, 404, `getLatestSchemaId of an unknown subject: HTTP status (${e3.message})`);
  }
  await expectRawError('GET', '/subjects/node-no-such-subject/versions/latest', undefined, 404,
    40401, 'GET /subjects/{unknown}/versions/latest');

  const e4 = await rejects(freshRegistry().getRegistryIdBySchema('node-avro-value',
    { type: SchemaType.AVRO, schema: JSON.stringify({ ...AVRO_V1, name: 'Other' }) }),
  'getRegistryIdBySchema of a schema not in the subject fails');
  if (e4) {
    eq(e4.name, 'ConfluentSchemaRegistryError', `lookup miss error type (${e4.message})`);
  }
  await expectRawError('POST', '/subjects/node-avro-value',
    { schema: JSON.stringify({ ...AVRO_V1, name: 'Other' }) }, 404, 40403,
    'POST /subjects/{subject} with a schema not in the subject');
  await expectRawError('POST', '/subjects/node-avro-value/versions', { schema: '{"type":"recod"}' },
    422, 42201, 'POST /subjects/{subject}/versions with an invalid Avro schema');
  await expectRawError('GET', '/subjects/node-avro-value/versions/0', undefined, 422, 42202,
    'GET /subjects/{subject}/versions/0');
}

const SECTIONS = [
  sectionAvro, sectionJson, sectionProtobuf, sectionReferences, sectionConcurrentRegistration,
  sectionErrors,
];

async function main() {
  for (const section of SECTIONS) {
    try {
      await section();
    } catch (e) {
      if (e instanceof SectionAbort) {
        console.log(`  (${section.name} stopped after: ${e.message})`);
      } else {
        const msg = `FAIL: ${section.name} threw: ${e && e.stack ? e.stack : e}` +
          (e && e.status ? ` (HTTP ${e.status}, ${e.url})` : '');
        console.log(msg);
        failures.push(msg);
      }
    }
  }
  if (failures.length > 0) {
    console.log(`registry_roundtrip.js: ${failures.length} failures (${checks} checks run) ` +
      `against ${URL}`);
    process.exit(1);
  }
  console.log(`registry_roundtrip.js: all ${checks} checks OK against ${URL}`);
}

main().catch((e) => {
  console.log(`FAIL: ${e && e.stack ? e.stack : e}`);
  process.exit(1);
});
