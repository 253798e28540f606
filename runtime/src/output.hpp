// What the offline commands write (inject's labelled CSV, eval's events,
// report's SVG): CSV fields, numbers, and the files themselves, one way.
#pragma once

#include <functional>
#include <ostream>
#include <string>

namespace stream_smarts::runtime {

/// `value` as one CSV field: quoted (quotes doubled) only where it must be,
/// so that a reader gets it back exactly (a comma, a quote, a line break, or
/// a space or tab at either end, which CSV readers trim).
std::string csv_field(const std::string& value);

/// `v` in the fewest decimals that read back as the same double, never in
/// exponent form: "1931.27", "0.5", "120".
std::string shortest(double v);

/// Writes an output file (created, or emptied first) with `write`, which
/// streams into it (inject's CSV of a minute year need not be held twice).
/// Throws std::runtime_error "cannot write PATH: reason".
void write_output(const std::string& path, const std::function<void(std::ostream&)>& write);

} // namespace stream_smarts::runtime
