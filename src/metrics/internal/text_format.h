// Pieces of the Prometheus text exposition format 0.0.4: name grammar, escaping, number format.
#pragma once

#include <string>
#include <string_view>

namespace sluice::metrics::internal {

// [a-zA-Z_:][a-zA-Z0-9_:]*
bool IsValidMetricName(std::string_view name);
// [a-zA-Z_][a-zA-Z0-9_]* (names starting with "__" are reserved; checked by the caller).
bool IsValidLabelName(std::string_view name);
// HELP text: backslash and newline escaped.
void AppendEscapedHelp(std::string& out, std::string_view help);
// Label value: backslash, double quote and newline escaped.
void AppendEscapedLabelValue(std::string& out, std::string_view value);
// Shortest text that parses back to v; "+Inf", "-Inf", "NaN" as Prometheus writes them.
std::string FormatValue(double v);

}  // namespace sluice::metrics::internal
