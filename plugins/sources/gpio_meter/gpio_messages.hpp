// What the gpio_meter source says when the GPIO cannot be used: one message
// per failure, naming the chip and line and what to do. Pure functions of the
// errno values, so the messages for cases this machine cannot produce (no
// permission, a line in use) are tested too.
#pragma once

#include <cerrno>
#include <cstring>
#include <string>

namespace stream_smarts::gpio_meter {

inline const std::string gpio_group_advice =
    "add the user running stream-smarts to the gpio group (sudo usermod -aG gpio USER, then log in again), "
    "or give that group the device with a udev rule";

/// Opening the chip failed with `err`. `chip` is the option as given, `path`
/// the device tried.
inline std::string chip_open_error(const std::string& chip, const std::string& path, int err) {
  const std::string what = "GPIO chip \"" + chip + "\"" + (path != chip ? " (" + path + ")" : std::string());
  switch (err) {
    case ENOENT:
      return what + " not found: " + path +
             " does not exist. Check the chip option (gpiodetect, in Debian's gpiod package, lists the chips) "
             "and that the GPIO driver is loaded; without GPIO hardware, give pulse_file instead";
    case EACCES:
    case EPERM:
      return "no permission to open " + what + ": " + gpio_group_advice;
    case ENOTTY:
    case ENODEV:
    case EINVAL:
    case EISDIR:
      return path + " is not a GPIO chip (chip = \"" + chip +
             "\"): give a gpiochip device such as gpiochip0 (gpiodetect lists them)";
    default:
      return "cannot open " + what + ": " + std::strerror(err);
  }
}

/// `chip` named no device (`path` does not exist), and looking it up as a
/// chip's label failed with `label_err`. libgpiod 1.6 opens every chip to
/// read its label, so a user outside the gpio group gets EACCES: the chip
/// may well be there, the permission is what is missing.
inline std::string chip_label_error(const std::string& chip, const std::string& path, int label_err) {
  if (label_err == EACCES || label_err == EPERM)
    return "no permission to open the GPIO chips (/dev/gpiochip*) to look for the one labelled \"" + chip +
           "\": " + gpio_group_advice;
  return "GPIO chip \"" + chip + "\" not found: " + path + " does not exist, and no chip is labelled \"" + chip +
         "\". Check the chip option (gpiodetect, in Debian's gpiod package, lists the chips and their labels) and "
         "that the GPIO driver is loaded; without GPIO hardware, give pulse_file instead";
}

/// `line` names no line of the chip.
inline std::string line_name_error(const std::string& chip, const std::string& name) {
  return "GPIO chip \"" + chip + "\" has no line named \"" + name + "\" (gpioinfo " + chip +
         " lists the names; or give the line's offset, e.g. line = 17)";
}

/// `line` is an offset past the chip's last line.
inline std::string line_offset_error(const std::string& chip, unsigned long offset, unsigned long num_lines) {
  return "GPIO chip \"" + chip + "\" has no line " + std::to_string(offset) + ": its " + std::to_string(num_lines) +
         " lines are 0.." + std::to_string(num_lines == 0 ? 0 : num_lines - 1) + " (gpioinfo " + chip + " lists them)";
}

/// Requesting edge events on the line failed with `err`. `line` describes it
/// ("line 17" or "line \"GPIO17\" (offset 17)"); `consumer` is who holds it,
/// if the kernel said.
inline std::string request_error(const std::string& chip, const std::string& line, int err,
                                 const std::string& consumer) {
  const std::string what = line + " of GPIO chip \"" + chip + "\"";
  switch (err) {
    case EBUSY:
      return what + " is already in use" + (consumer.empty() ? std::string() : " by \"" + consumer + "\"") +
             ": stop the program or driver holding it (gpioinfo " + chip + " shows the consumer) or wire the meter "
             "to another line";
    case EACCES:
    case EPERM:
      return "no permission to use " + what + ": " + gpio_group_advice;
    case EINVAL:
      return "cannot watch " + what + " for edges: the kernel refused the request (invalid argument); a bias "
             "other than \"as-is\" needs Linux 5.5 or later: set bias = \"as-is\" and use an external pull-up";
    case ENODEV:
    case ENXIO:
    case EOPNOTSUPP:
      return what + " cannot report edges (no interrupt for it: " + std::string(std::strerror(err)) +
             "): wire the meter to another line";
    default:
      return "cannot watch " + what + " for edges: " + std::strerror(err);
  }
}

} // namespace stream_smarts::gpio_meter
