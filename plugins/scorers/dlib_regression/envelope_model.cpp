// The plugin's one translation unit that includes dlib (its kernel headers
// cost seconds to compile): training, prediction and the model's payload.
#include "envelope_model.hpp"

#include <common/atomic_file.hpp>
#include <common/json.hpp>
#include <common/loaded_model.hpp>
#include <common/statistics.hpp>
#include <common/toml_text.hpp>
#include <stream_smarts/time.hpp>

#include <dlib/serialize.h>
#include <dlib/statistics.h>
#include <dlib/svm/kernel.h>
#include <dlib/svm/krr_trainer.h>

#include <algorithm>
#include <array>
#include <climits>
#include <cmath>
#include <sstream>
#include <utility>
#include <stdexcept>

namespace stream_smarts::dlib_regression {

namespace {

using statistics::percentile;
using toml_text::two_digits;

using sample = dlib::matrix<double, feature_count, 1>;
using kernel = dlib::radial_basis_kernel<sample>;
using function = dlib::decision_function<kernel>;
using normalizer = dlib::vector_normalizer<sample>;
using json::format_number;

/// The spread is floored so that a time the history fits exactly still has a band.
constexpr double min_spread = 0.01;
/// Scores stay finite: hi - lo is at least this.
constexpr double min_band_width = 1e-9;

const char* const feature_name[feature_count] = {"hour_sin",    "hour_cos", "weekday_sin",
                                                 "weekday_cos", "year_sin", "year_cos"};

sample sample_of(const local_fields& l) {
  const auto f = features(l);
  sample x;
  for (int i = 0; i < feature_count; ++i) x(i) = f[static_cast<std::size_t>(i)];
  return x;
}

envelope band_of(double m, double s, double k_lo, double k_hi, double offset) {
  envelope e;
  e.lo = std::max(0.0, std::exp(m + k_lo * s) - offset);
  e.hi = std::exp(m + k_hi * s) - offset;
  if (!(e.hi - e.lo >= min_band_width)) e.hi = e.lo + min_band_width;
  e.expected = std::max(0.0, std::exp(m) - offset);
  e.log_centre = m;
  e.log_spread = s;
  return e;
}



// dlib's messages run over several indented lines; one line for ours.
std::string one_line(std::string s) {
  std::string out;
  bool space = false;
  for (const char c : s) {
    if (c == '\n' || c == '\r' || c == '\t' || c == ' ') {
      space = true;
      continue;
    }
    if (space && !out.empty()) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

} // namespace

void check_local_fields(const local_fields& l) {
  if (l.hour < 0 || l.hour > 23 || l.minute < 0 || l.minute > 59 || l.second < 0 || l.second > 60 || l.weekday < 0 ||
      l.weekday > 6 || l.day_of_year < 0 || l.day_of_year > 365)
    throw std::out_of_range("dlib_regression: reading without valid local time fields (hour " +
                            std::to_string(l.hour) + ", weekday " + std::to_string(l.weekday) + ", day of year " +
                            std::to_string(l.day_of_year) + ")");
}

struct envelope_model::impl {
  model_header header;
  normalizer norm;
  function centre, spread;
  double k_lo = 0, k_hi = 0;

  // What normalizer::operator() computes, without its mutable scratch
  // matrix: predict() stays const in fact, not only in name.
  sample normalized(const sample& x) const { return dlib::pointwise_multiply(x - norm.means(), norm.std_devs()); }

  // Both functions are fitted on the same samples with the same kernel, and
  // dlib picks the basis with a fixed seed, so their basis vectors are the
  // same: one kernel evaluation per basis vector serves both, which halves
  // the exp() calls of a prediction. Checked, never assumed.
  bool shared_basis = false;

  void find_shared_basis() {
    const long n = centre.basis_vectors.size();
    shared_basis = n == spread.basis_vectors.size() && centre.alpha.size() == n && spread.alpha.size() == n &&
                   centre.kernel_function == spread.kernel_function;
    for (long i = 0; shared_basis && i < n; ++i) shared_basis = centre.basis_vectors(i) == spread.basis_vectors(i);
  }

  // m(x) and s(x) with exactly dlib's arithmetic (decision_function's
  // operator(): sum of alpha(i) * k(x, basis(i)) in order, minus b), so the
  // shared path gives the same bits as two separate calls.
  std::pair<double, double> centre_and_spread(const sample& x) const {
    if (!shared_basis) return {centre(x), spread(x)};
    double m = 0, s = 0;
    for (long i = 0; i < centre.alpha.nr(); ++i) {
      const double k = centre.kernel_function(x, centre.basis_vectors(i));
      m += centre.alpha(i) * k;
      s += spread.alpha(i) * k;
    }
    return {m - centre.b, s - spread.b};
  }

  std::vector<sample> normalize(const std::vector<sample>& x);
  void fit(const std::vector<sample>& xn, const std::vector<double>& y, const training_options& o,
           const progress_function& report);

  envelope predict(const local_fields& l) const {
    const auto [m, s] = centre_and_spread(normalized(sample_of(l)));
    return band_of(m, std::max(min_spread, s), k_lo, k_hi, header.log_offset_wh);
  }

  std::string payload() const {
    std::ostringstream out(std::ios::binary);
    dlib::serialize(norm, out);
    dlib::serialize(centre, out);
    dlib::serialize(spread, out);
    dlib::serialize(k_lo, out);
    dlib::serialize(k_hi, out);
    return out.str();
  }

  /// Throws model_error saying what makes the model unusable.
  void check_sane() const {
    if (!dlib::is_finite(norm.means()) || !dlib::is_finite(norm.std_devs()) || dlib::min(norm.std_devs()) <= 0)
      throw model_error("the feature normalizer has non-finite or non-positive values");
    check_function(centre, "centre");
    check_function(spread, "spread");
    if (!std::isfinite(k_lo) || !std::isfinite(k_hi) || !(k_hi > k_lo))
      throw model_error("the band's quantiles must be finite with k_hi > k_lo; got k_lo " + format_number(k_lo) +
                        ", k_hi " + format_number(k_hi));
    // Finite parameters can still overflow exp(): try a week of hours
    // spread over the year.
    for (int d = 0; d < 7; ++d)
      for (int h = 0; h < 24; ++h) {
        local_fields l;
        l.hour = static_cast<std::int8_t>(h);
        l.weekday = static_cast<std::int8_t>(d);
        l.day_of_year = static_cast<std::int16_t>((d * 24 + h) * 52 % 366);
        const envelope e = predict(l);
        if (!std::isfinite(e.lo) || !std::isfinite(e.hi) || !std::isfinite(e.expected))
          throw model_error("it predicts a non-finite band for " + std::to_string(h) + ":00 on weekday " +
                            std::to_string(d));
      }
  }

  static void check_function(const function& f, const char* what) {
    const long n = f.basis_vectors.size();
    if (n < 1 || n > max_basis_limit || f.alpha.size() != n)
      throw model_error(std::string("the ") + what + " function has " + std::to_string(n) + " basis vectors and " +
                        std::to_string(f.alpha.size()) + " weights (need the same number, 1.." +
                        std::to_string(max_basis_limit) + ")");
    bool finite = std::isfinite(f.b) && dlib::is_finite(f.alpha);
    for (long i = 0; finite && i < n; ++i) finite = dlib::is_finite(f.basis_vectors(i));
    if (!finite) throw model_error(std::string("the ") + what + " function has non-finite values");
    if (!(std::isfinite(f.kernel_function.gamma) && f.kernel_function.gamma > 0))
      throw model_error(std::string("the ") + what + " function's kernel gamma must be above 0; got " +
                        format_number(f.kernel_function.gamma));
  }
};

envelope_model::envelope_model() : impl_(std::make_unique<impl>()) {}
envelope_model::envelope_model(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
envelope_model::envelope_model(envelope_model&&) noexcept = default;
envelope_model& envelope_model::operator=(envelope_model&&) noexcept = default;
envelope_model::~envelope_model() = default;

const model_header& envelope_model::header() const { return impl_->header; }
std::size_t envelope_model::centre_basis() const { return static_cast<std::size_t>(impl_->centre.basis_vectors.size()); }
std::size_t envelope_model::spread_basis() const { return static_cast<std::size_t>(impl_->spread.basis_vectors.size()); }
double envelope_model::k_lo() const { return impl_->k_lo; }
double envelope_model::k_hi() const { return impl_->k_hi; }
bool envelope_model::shared_basis() const { return impl_->shared_basis; }

envelope envelope_model::predict(const local_fields& l) const { return impl_->predict(l); }

// ---------------------------------------------------------------- training

namespace {

/// The features and log-space targets of a history, refused with the reason
/// when it cannot train a model: a reading without local fields or with a
/// bad wh, an hour of the day never seen, a single weekday.
struct training_set {
  std::vector<sample> x;
  std::vector<double> y;
};

training_set training_set_of(const std::vector<reading>& history, double log_offset_wh) {
  training_set t{std::vector<sample>(history.size()), std::vector<double>(history.size())};
  std::array<std::size_t, 24> per_hour{};
  unsigned weekdays = 0;
  for (std::size_t i = 0; i < history.size(); ++i) {
    const reading& r = history[i];
    try {
      check_local_fields(r.local);
    } catch (const std::out_of_range& e) {
      throw std::runtime_error(std::string(e.what()) + " at " + std::to_string(r.ts_ms) + " ms");
    }
    if (!std::isfinite(r.wh) || r.wh < 0)
      throw std::runtime_error("dlib_regression: reading at " + format_local_iso8601(r.local) + " has wh " +
                               format_number(r.wh) + "; training needs finite values >= 0");
    ++per_hour[static_cast<std::size_t>(r.local.hour)];
    weekdays |= 1u << r.local.weekday;
    t.x[i] = sample_of(r.local);
    t.y[i] = std::log(r.wh + log_offset_wh);
  }
  for (int h = 0; h < 24; ++h)
    if (per_hour[static_cast<std::size_t>(h)] == 0)
      throw std::runtime_error("dlib_regression: no reading at hour " + two_digits(h) +
                               " in the history; every hour of the day needs at least one");
  if ((weekdays & (weekdays - 1)) == 0)
    throw std::runtime_error("dlib_regression: every reading in the history falls on the same weekday; training "
                             "needs at least two (a week or more of history)");
  return t;
}

void check_training_options(const std::vector<reading>& history, const training_options& o) {
  // The runtime checks these as declared options first; this guards direct callers.
  if (!(o.lo_percentile >= 0 && o.lo_percentile < o.hi_percentile && o.hi_percentile <= 100) ||
      !(std::isfinite(o.gamma) && o.gamma > 0) || o.max_basis < 1 || o.max_basis > max_basis_limit)
    throw std::invalid_argument("dlib_regression: training options out of range");
  if (history.size() < min_training_readings)
    throw std::runtime_error("dlib_regression: the history has " + std::to_string(history.size()) +
                             " readings; training needs at least " + std::to_string(min_training_readings) +
                             " (a week of hourly readings)");
}

/// What the model file says of how it was trained.
void describe_training(model_header& h, const std::vector<reading>& history, const training_options& o,
                       const std::string& timezone) {
  h.features = feature_names;
  h.timezone = timezone;
  loaded_model::record_training_span(h, history);
  h.lo_percentile = o.lo_percentile;
  h.hi_percentile = o.hi_percentile;
  h.gamma = o.gamma;
  h.max_basis = o.max_basis;
}

} // namespace

/// Fits the normalizer on `x` and returns the normalized samples; refuses a
/// feature with one value for every reading (its spread would divide by 0).
std::vector<sample> envelope_model::impl::normalize(const std::vector<sample>& x) {
  norm.train(x);
  for (int i = 0; i < feature_count; ++i)
    if (!std::isfinite(norm.std_devs()(i)))
      throw std::runtime_error(std::string("dlib_regression: feature ") + feature_name[i] +
                               " has the same value for every reading in the history; training needs readings "
                               "spread over more days");
  std::vector<sample> xn(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) xn[i] = normalized(x[i]);
  return xn;
}

/// The centre (expected log energy) and the spread (expected distance from
/// it), then the band: quantiles of the standardized residuals, computed as
/// scoring will compute them.
void envelope_model::impl::fit(const std::vector<sample>& xn, const std::vector<double>& y, const training_options& o,
                               const progress_function& report) {
  dlib::krr_trainer<kernel> trainer;
  trainer.set_kernel(kernel(o.gamma));
  trainer.set_max_basis_size(static_cast<unsigned long>(o.max_basis));
  centre = trainer.train(xn, y);
  report(0.45);
  std::vector<double> distance(y.size());
  for (std::size_t i = 0; i < y.size(); ++i) distance[i] = std::fabs(y[i] - centre(xn[i]));
  report(0.5);
  spread = trainer.train(xn, distance);
  find_shared_basis();
  report(0.9);
  std::vector<double> z(y.size());
  for (std::size_t i = 0; i < y.size(); ++i) {
    const auto [m, s] = centre_and_spread(xn[i]);
    z[i] = (y[i] - m) / std::max(min_spread, s);
  }
  std::sort(z.begin(), z.end());
  k_lo = percentile(z, o.lo_percentile);
  k_hi = percentile(z, o.hi_percentile);
  // Identical residuals (a perfectly regular history) give no width.
  if (!(k_hi > k_lo)) k_hi = k_lo + 1e-6;
}

envelope_model envelope_model::train(const std::vector<reading>& history, const training_options& o,
                                     const std::string& timezone, const progress_function& progress) {
  const progress_function report = [&](double done) {
    if (progress) progress(done);
  };
  check_training_options(history, o);
  report(0);
  auto p = std::make_unique<impl>();
  p->header.log_offset_wh = default_log_offset_wh;
  const training_set t = training_set_of(history, p->header.log_offset_wh);
  const std::vector<sample> xn = p->normalize(t.x);
  report(0.05);
  p->fit(xn, t.y, o, report);
  report(0.95);
  describe_training(p->header, history, o, timezone);
  try {
    p->check_sane();
  } catch (const model_error& e) {
    throw std::runtime_error(std::string("dlib_regression: training gave an unusable model: ") + e.what());
  }
  return envelope_model(std::move(p));
}

// ---------------------------------------------------------------- the file

std::string envelope_model::to_bytes() const { return encode_model_file(impl_->header, impl_->payload()); }

void envelope_model::write_file(const std::string& path) const { files::write_file_atomically(path, to_bytes()); }

envelope_model envelope_model::read_file(const std::string& path) { return from_bytes(read_model_bytes(path)); }

namespace {

// dlib's matrix reader sizes a matrix from the stream before reading its
// elements. Look at the sizes first, so that a crafted file cannot make it
// allocate terabytes or overflow rows x columns; then rewind.
void check_matrix_size(std::istream& in, long max_rows, long columns, const char* what) {
  const auto at = in.tellg();
  long nr = 0, nc = 0;
  dlib::deserialize(nr, in);
  dlib::deserialize(nc, in);
  if (nr < 0 || nc < 0) {  // dlib writes -rows, -columns
    if (nr == LONG_MIN || nc == LONG_MIN) nr = -1;
    else {
      nr = -nr;
      nc = -nc;
    }
  }
  if (nr < 0 || nr > max_rows || nc != columns)
    throw model_error(std::string("payload cannot be read: ") + what + " has an impossible size");
  in.seekg(at);
}

void read_normalizer(normalizer& norm, std::istream& in) {
  const auto at = in.tellg();
  sample skip;
  dlib::deserialize(skip, in);  // means and std_devs: fixed size, checked by dlib
  dlib::deserialize(skip, in);
  check_matrix_size(in, 0, 0, "the normalizer");  // a vector_normalizer_pca's matrix, empty here
  in.seekg(at);
  dlib::deserialize(norm, in);
}

// As dlib::deserialize(decision_function&), member by member.
void read_function(function& f, std::istream& in, const char* what) {
  check_matrix_size(in, max_basis_limit, 1, what);
  dlib::deserialize(f.alpha, in);
  dlib::deserialize(f.b, in);
  dlib::deserialize(f.kernel_function, in);
  check_matrix_size(in, max_basis_limit, 1, what);
  dlib::deserialize(f.basis_vectors, in);
}

} // namespace

envelope_model envelope_model::from_bytes(std::string_view bytes) {
  const decoded_model_file file = decode_model_file(bytes);
  if (file.header.features != feature_names)
    throw model_error("features are '" + file.header.features + "' but this plugin computes '" + feature_names +
                      "' (a model from another version?)");
  auto p = std::make_unique<impl>();
  p->header = file.header;
  try {
    std::istringstream in(std::string(file.payload), std::ios::binary);
    read_normalizer(p->norm, in);
    read_function(p->centre, in, "the centre function");
    read_function(p->spread, in, "the spread function");
    dlib::deserialize(p->k_lo, in);
    dlib::deserialize(p->k_hi, in);
    if (in.peek() != std::char_traits<char>::eof()) {
      const auto used = static_cast<std::size_t>(in.tellg());
      throw model_error("payload has " + std::to_string(file.payload.size() - used) + " bytes after the model");
    }
  } catch (const model_error&) {
    throw;
  } catch (const dlib::serialization_error& e) {
    throw model_error("payload cannot be read: " + one_line(e.what()));
  } catch (const std::exception& e) {
    throw model_error("payload cannot be read: " + one_line(e.what()));
  }
  p->find_shared_basis();
  try {
    p->check_sane();
  } catch (const model_error& e) {
    throw model_error(std::string("payload holds an unusable model: ") + e.what());
  }
  return envelope_model(std::move(p));
}

std::string summary(const envelope_model& m, const std::string& path) {
  const model_header& h = m.header();
  return "dlib_regression: " + std::to_string(h.readings) + " readings from " + h.trained_from + " to " +
         h.trained_to + ", band p" + format_number(h.lo_percentile) + "-p" + format_number(h.hi_percentile) +
         " of standardized residuals, " + std::to_string(m.centre_basis()) + "+" + std::to_string(m.spread_basis()) +
         " basis vectors, written to " + path;
}

} // namespace stream_smarts::dlib_regression
