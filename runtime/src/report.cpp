// `stream-smarts report`: the picture of a model against real readings that
// the original article showed. Top panel: the expected range of consumption
// over a day or month (green), the region above it (red) and the actual
// readings; bottom panel: the score over the same time, alerts marked.
// Plain SVG written directly: no plotting library needed for two panels.
#include "commands.hpp"
#include "output.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <sstream>

namespace stream_smarts::runtime {
namespace {

struct point {
  const reading* r;
  score_result s;
  double t0, t1;  // hours since the first reading of the period: [t0, t1) is what the reading covers
};

struct period {
  std::string title;  // "2008-01-14" or "2008-01"
  bool month = false;
};

std::string two(int n) {
  char text[4];
  std::snprintf(text, sizeof text, "%02d", n % 100);  // not "0" + to_string(n): GCC 12 warns on it (-Wrestrict)
  return text;
}
std::string day_of(const local_fields& l) { return std::to_string(l.year) + "-" + two(l.month) + "-" + two(l.day); }
std::string month_of(const local_fields& l) { return std::to_string(l.year) + "-" + two(l.month); }

std::string num(double v) { return fixed(v, 1); }

std::string escaped(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '<') out += "&lt;";
    else if (c == '>') out += "&gt;";
    else if (c == '&') out += "&amp;";
    else if (c == '"') out += "&quot;";
    else out += c;
  }
  return out;
}

/// A round step for axis ticks: 1, 2 or 5 times a power of ten.
double nice_step(double range, int ticks) {
  const double raw = range / ticks, power = std::pow(10, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0})
    if (raw <= m * power) return m * power;
  return 10 * power;
}

/// Every reading's score, in time order in one pass, as a running pipeline
/// gives them: a scorer with running state (sustained_load, power_step) must
/// see each reading once, and the readings before a period as its warm-up.
std::vector<score_result> scores_of(const std::vector<reading>& history, scorer& model) {
  std::vector<score_result> scores;
  scores.reserve(history.size());
  for (const auto& r : history) scores.push_back(model.score(r));
  return scores;
}

/// The readings in the period with their scores; each covers the time to the
/// next one (the last and any reading before a gap: the usual spacing).
std::vector<point> points_in(const std::vector<reading>& history, const std::vector<score_result>& scores,
                             const period& p) {
  std::vector<point> out;
  for (std::size_t i = 0; i < history.size(); ++i)
    if ((p.month ? month_of(history[i].local) : day_of(history[i].local)) == p.title)
      out.push_back({&history[i], scores[i], 0, 0});
  if (out.empty()) return out;
  std::vector<double> gaps;
  for (std::size_t i = 1; i < out.size(); ++i) gaps.push_back((out[i].r->ts_ms - out[i - 1].r->ts_ms) / 3.6e6);
  std::sort(gaps.begin(), gaps.end());
  const double usual = gaps.empty() ? 1.0 : gaps[gaps.size() / 2];
  const std::int64_t first = out.front().r->ts_ms;
  for (std::size_t i = 0; i < out.size(); ++i) {
    out[i].t0 = (out[i].r->ts_ms - first) / 3.6e6;
    const double next = i + 1 < out.size() ? (out[i + 1].r->ts_ms - first) / 3.6e6 : out[i].t0 + usual;
    out[i].t1 = std::min(next, out[i].t0 + usual);
  }
  return out;
}

/// The day with the highest score: where the picture is most interesting.
period worst_day(const std::vector<reading>& history, const std::vector<score_result>& scores) {
  const auto worst = std::max_element(scores.begin(), scores.end(),
                                      [](const score_result& a, const score_result& b) { return a.score < b.score; });
  return {day_of(history[static_cast<std::size_t>(worst - scores.begin())].local), false};
}

class chart {
public:
  chart(std::ostringstream& svg, double x0, double x1, double y0, double y1, double hours, double lo, double hi)
      : svg_(svg), x0_(x0), x1_(x1), y0_(y0), y1_(y1), hours_(hours), lo_(lo), hi_(hi) {}
  double x(double hours) const { return x0_ + (x1_ - x0_) * hours / hours_; }
  double y(double v) const { return y1_ - (y1_ - y0_) * (std::clamp(v, lo_, hi_) - lo_) / (hi_ - lo_); }

  void rect(double t0, double t1, double v0, double v1, const char* fill) {
    svg_ << "<rect x=\"" << num(x(t0)) << "\" y=\"" << num(y(v1)) << "\" width=\"" << num(x(t1) - x(t0) + 0.3)
         << "\" height=\"" << num(std::max(0.0, y(v0) - y(v1))) << "\" fill=\"" << fill << "\"/>\n";
  }
  void y_axis(const std::string& label) {
    const double step = nice_step(hi_ - lo_, 5);
    for (double v = std::ceil(lo_ / step) * step; v <= hi_ + 1e-9; v += step) {
      svg_ << "<line x1=\"" << num(x0_) << "\" x2=\"" << num(x1_) << "\" y1=\"" << num(y(v)) << "\" y2=\""
           << num(y(v)) << "\" stroke=\"#ddd\"/>\n<text x=\"" << num(x0_ - 6) << "\" y=\"" << num(y(v) + 4)
           << "\" text-anchor=\"end\">" << (std::fabs(v) < 1e-9 ? 0 : v) << "</text>\n";
    }
    svg_ << "<text transform=\"translate(" << num(x0_ - 52) << " " << num((y0_ + y1_) / 2)
         << ") rotate(-90)\" text-anchor=\"middle\">" << label << "</text>\n"
         << "<rect x=\"" << num(x0_) << "\" y=\"" << num(y0_) << "\" width=\"" << num(x1_ - x0_) << "\" height=\""
         << num(y1_ - y0_) << "\" fill=\"none\" stroke=\"#888\"/>\n";
  }
  void x_ticks(const std::vector<point>& pts, bool month) {
    for (const auto& p : pts) {
      const local_fields& l = p.r->local;
      if (l.minute != 0 || (month ? l.hour != 0 : l.hour % 3 != 0)) continue;
      if (month && (l.day - 1) % 2 != 0) continue;
      svg_ << "<line x1=\"" << num(x(p.t0)) << "\" x2=\"" << num(x(p.t0)) << "\" y1=\"" << num(y1_) << "\" y2=\""
           << num(y1_ + 5) << "\" stroke=\"#888\"/>\n<text x=\"" << num(x(p.t0)) << "\" y=\"" << num(y1_ + 18)
           << "\" text-anchor=\"middle\">" << (month ? std::to_string(l.day) : two(l.hour) + ":00") << "</text>\n";
    }
  }
  void step_line(const std::vector<point>& pts, double (*value)(const point&), const char* stroke,
                 const char* dashes = "none") {
    svg_ << "<path fill=\"none\" stroke=\"" << stroke << "\" stroke-dasharray=\"" << dashes
         << "\" stroke-width=\"1.6\" d=\"";
    for (std::size_t i = 0; i < pts.size(); ++i) {
      const bool joined = i > 0 && pts[i - 1].t1 >= pts[i].t0 - 1e-9;
      svg_ << (joined ? " L" : " M") << num(x(pts[i].t0)) << " " << num(y(value(pts[i]))) << " L"
           << num(x(pts[i].t1)) << " " << num(y(value(pts[i])));
    }
    svg_ << "\"/>\n";
  }
  void alert_marks(const std::vector<point>& pts, double threshold, double (*value)(const point&)) {
    for (const auto& p : pts)
      if (p.s.score > threshold)
        svg_ << "<circle cx=\"" << num(x((p.t0 + p.t1) / 2)) << "\" cy=\"" << num(y(value(p)))
             << "\" r=\"4.5\" fill=\"none\" stroke=\"#c00\" stroke-width=\"2\"/>\n";
  }

private:
  std::ostringstream& svg_;
  double x0_, x1_, y0_, y1_, hours_, lo_, hi_;
};

/// What the band is drawn against: the energy, or power_step's power.
double value_of(const point& p) { return banded_value(*p.r, p.s.unit); }
double centre_of(const point& p) { return p.s.expected; }
double score_of(const point& p) { return p.s.score; }

std::string draw(const std::vector<point>& pts, const period& p, const report_request& request,
                 const std::string& scorer_name) {
  constexpr double width = 960, left = 80, right = 930;
  const double hours = pts.back().t1;
  double top_value = 0, top_score = request.threshold * 1.5, low_score = 0;
  std::size_t alerts = 0;
  for (const auto& q : pts) {
    top_value = std::max({top_value, value_of(q), q.s.expected_hi});
    top_score = std::max(top_score, q.s.score);
    low_score = std::min(low_score, q.s.score);
    alerts += q.s.score > request.threshold;
  }
  top_value *= 1.15;
  top_score *= 1.1;
  std::ostringstream svg;
  svg << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"660\" viewBox=\"0 0 "
      << width << " 660\" font-family=\"sans-serif\" font-size=\"12\">\n"
      << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      << "<text x=\"" << left << "\" y=\"24\" font-size=\"16\" font-weight=\"bold\">Expected and actual consumption, "
      << escaped(p.title) << "</text>\n<text x=\"" << left << "\" y=\"42\" fill=\"#555\">model "
      << escaped(request.model) << " (" << escaped(scorer_name) << "), " << pts.size() << " readings, " << alerts
      << " alert" << (alerts == 1 ? "" : "s") << " (score above " << request.threshold << ")</text>\n";

  chart energy(svg, left, right, 60, 400, hours, 0, top_value);
  for (const auto& q : pts) {
    energy.rect(q.t0, q.t1, q.s.expected_hi, top_value, "#f6c9c4");           // above expected: unusual
    energy.rect(q.t0, q.t1, q.s.expected_lo, q.s.expected_hi, "#a8dca0");  // the expected range
  }
  energy.y_axis(pts.front().s.unit == band_unit::w ? "power (W)" : "energy per reading (Wh)");
  if (!std::isnan(pts.front().s.expected)) energy.step_line(pts, centre_of, "#2e7d32", "4 3");
  energy.step_line(pts, value_of, "#1f3b73");
  energy.alert_marks(pts, request.threshold, value_of);
  energy.x_ticks(pts, p.month);

  chart score(svg, left, right, 450, 600, hours, low_score, top_score);
  score.y_axis("score");
  svg << "<line x1=\"" << left << "\" x2=\"" << right << "\" y1=\"" << num(score.y(request.threshold)) << "\" y2=\""
      << num(score.y(request.threshold)) << "\" stroke=\"#c00\" stroke-dasharray=\"6 4\"/>\n";
  score.step_line(pts, score_of, "#444");
  score.alert_marks(pts, request.threshold, score_of);
  score.x_ticks(pts, p.month);

  const double ly = 640;  // legend
  svg << "<rect x=\"" << left << "\" y=\"" << ly - 10 << "\" width=\"14\" height=\"10\" fill=\"#a8dca0\"/><text x=\""
      << left + 20 << "\" y=\"" << ly << "\">expected range (dashed: most likely)</text>\n<rect x=\"" << left + 280 << "\" y=\"" << ly - 10
      << "\" width=\"14\" height=\"10\" fill=\"#f6c9c4\"/><text x=\"" << left + 300 << "\" y=\"" << ly
      << "\">above expected</text>\n<line x1=\"" << left + 420 << "\" x2=\"" << left + 440 << "\" y1=\"" << ly - 5
      << "\" y2=\"" << ly - 5 << "\" stroke=\"#1f3b73\" stroke-width=\"2\"/><text x=\"" << left + 446 << "\" y=\""
      << ly << "\">actual</text>\n<circle cx=\"" << left + 510 << "\" cy=\"" << ly - 5
      << "\" r=\"4.5\" fill=\"none\" stroke=\"#c00\" stroke-width=\"2\"/><text x=\"" << left + 520 << "\" y=\""
      << ly << "\">alert</text>\n<line x1=\"" << left + 570 << "\" x2=\"" << left + 595 << "\" y1=\"" << ly - 5
      << "\" y2=\"" << ly - 5 << "\" stroke=\"#c00\" stroke-dasharray=\"6 4\"/><text x=\"" << left + 601
      << "\" y=\"" << ly << "\">alert threshold (score " << request.threshold << ")</text>\n</svg>\n";
  return svg.str();
}

bool valid_period(const std::string& s) {
  const bool month_period = s.size() == 7, day_period = s.size() == 10;
  if (!month_period && !day_period) return false;
  for (std::size_t i = 0; i < s.size(); ++i)
    if ((i == 4 || i == 7) ? s[i] != '-' : !std::isdigit(static_cast<unsigned char>(s[i]))) return false;
  using namespace std::chrono;  // a day of the calendar: not 2007-13, nor 2007-02-30
  const year_month_day date{year{std::stoi(s.substr(0, 4))}, month{static_cast<unsigned>(std::stoi(s.substr(5, 2)))},
                            day{day_period ? static_cast<unsigned>(std::stoi(s.substr(8, 2))) : 1u}};
  return date.ok();
}

} // namespace

int report_command(const report_request& request) {
  offline_session session(request.offline);
  session.refuse_overwriting_inputs(request.out, "--out", {request.model});
  if (!request.period.empty() && !valid_period(request.period))
    session.problems().error({"(command line)"}, "--period must be a day (2008-01-14) or a month (2008-01), not '" +
                                                     request.period + "'");
  return run_offline(session, "report", [&] {
    auto model = session.scorer_for_model(request.model, request.model_settings);
    const std::vector<reading> history = session.read_history();
    const std::vector<score_result> scores = scores_of(history, *model.instance);
    const period p = request.period.empty() ? worst_day(history, scores)
                                            : period{request.period, request.period.size() == 7};
    const std::vector<point> pts = points_in(history, scores, p);
    if (pts.empty())
      throw std::runtime_error("no readings in " + p.title + "; the history runs from " +
                               day_of(history.front().local) + " to " + day_of(history.back().local));
    const std::string svg = draw(pts, p, request, model.spec->plugin->info().name);
    write_output(request.out, [&](std::ostream& out) { out << svg; });
    std::cout << "wrote " << request.out << ": " << p.title << ", " << pts.size() << " readings\n";
    return 0;
  });
}

} // namespace stream_smarts::runtime
