// The errors a scorer's model and training settings raise, shared so that
// every scorer reports them the same way: a model file that cannot be used
// ("model: PATH: ..."), and a training setting out of range, which is the
// option's fault when training and the file's when scoring.
#pragma once

#include <stream_smarts/options.hpp>

#include <stdexcept>
#include <string>

namespace stream_smarts::model_errors {

/// A model file that cannot be used; the message is for the user.
class model_error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// A setting out of range: which one, and what is wrong with it.
class settings_error : public std::invalid_argument {
public:
  settings_error(const std::string& setting, const std::string& problem)
      : std::invalid_argument(setting + " " + problem), setting(setting), problem(problem) {}
  std::string setting, problem;  ///< "hours", "must be within 1..24; got 0"
};

/// `check(s)`, its settings_error as the option_error of the setting named:
/// training settings come from options.
template <class Settings, class Check>
const Settings& checked_as_options(const Settings& s, Check check) {
  try {
    check(s);
  } catch (const settings_error& e) {
    throw option_error(e.setting, e.problem);
  }
  return s;
}

/// `check(s)`, its settings_error as a model_error: settings read from a
/// model file are the file's fault.
template <class Settings, class Check>
void check_as_model(const Settings& s, Check check) {
  try {
    check(s);
  } catch (const settings_error& e) {
    throw model_error(e.what());
  }
}

} // namespace stream_smarts::model_errors
