// PostgresLookup: the LookupClient of `lookup: {postgres: ...}` — runs the enrich operator's
// query for each key over one libpq connection. The only file pair in Sluice that includes
// libpq (DESIGN.md: each third-party library belongs to one component); its errors become
// LookupResult reasons here.
#pragma once

#include <memory>

#include "stream/enrich_operator.h"

namespace sluice::stream {

// A LookupClient over libpq. Blocking: used only from BlockingWork::Run on a blocking-pool
// thread, one call at a time (LookupEnrichOperator guarantees that). Connects on first use —
// never in the constructor, which runs on a shard — and reconnects after a broken connection.
//
// Per key: the prepared query with $1 = the key (text), at most `timeout_ms` (connecting
// included; on expiry the query is cancelled and the connection dropped). The first result row
// becomes an object of its columns, typed by their PostgreSQL types: int2/4/8 and oid → int,
// float4/8 and numeric → double, bool → bool, json/jsonb → parsed JSON, timestamp/timestamptz/
// date → timestamp (ms, UTC), NULL → null, anything else → its text. No row → kMissing.
// A query that fails (bad SQL, a key the column type cannot take, a timeout, a lost server) →
// kError with PostgreSQL's message; a connection lost between calls is reopened and the key
// retried once. When the server cannot be reached, the remaining keys of the call fail at once
// with the same reason rather than each waiting for the timeout.
std::unique_ptr<LookupClient> MakePostgresLookup(const EnrichSpec& spec);

}  // namespace sluice::stream
