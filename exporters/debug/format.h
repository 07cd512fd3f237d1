// debug_output's line formats: JSON Lines for scripts and tests, text for people.
// Pure functions: a Metric in, one line (with '\n') appended to a string.
#pragma once
#include <string>

#include "shm/metric.h"

namespace bucky3::debug_output {

enum class Format { text, json };

// {"bucket":"stats_counters","metadata":{"name":"foo"},"values":{"count":3.0,"rate":0.3},"timestamp":1764100000000}
// "value": x instead of "values" for a single value; timestamp only when set.
void append_json_line(const Metric& metric, std::string& out);

// stats_counters name=foo,host=a count=3.0 rate=0.3 @1764100000000
// Tags sorted as held; a single value prints as value=<x>.
void append_text_line(const Metric& metric, std::string& out);

// A number as DESIGN's JSON wants it: integers as integers, doubles in shortest
// round-trip form that always has a '.' or an 'e', NaN and infinities as the
// strings "NaN", "+Inf", "-Inf".
void append_json_number(const Number& value, std::string& out);

// A JSON string literal with quotes; control characters escaped, other bytes kept.
void append_json_string(std::string_view text, std::string& out);

}  // namespace bucky3::debug_output
