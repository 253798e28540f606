#include "connection.hpp"

#include "embedded_cluster.hpp"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <stdexcept>

namespace stream_smarts::kafka {

/// Where librdkafka's callbacks find the stage's logger: the client's opaque.
struct callback_target {
  logger* log;
  client_events events;
};

namespace {

constexpr const char* embedded_brokers = "embedded";

std::string describe_defaults(const string_table& defaults) {
  std::string out;
  for (const auto& [key, value] : defaults) out += (out.empty() ? "" : ", ") + key + " = " + value;
  return out;
}

void on_log(const rd_kafka_t* rk, int level, const char* facility, const char* message) {
  auto* target = static_cast<callback_target*>(rd_kafka_opaque(rk));
  if (target == nullptr) return;
  const std::string line = std::string("librdkafka ") + facility + ": " + message;
  // One `properties` table serves every client of a stage (the source's
  // consumer and its dead-letter producer): a property meant for the other
  // kind of client is expected, not worth a warning.
  const bool other_kind = std::strstr(message, " property and will be ignored by this ") != nullptr;
  // syslog levels: 0-3 errors, 4 warnings, 5-6 notices, 7 debug.
  if (other_kind) target->log->debug(line);
  else if (level <= 3) target->log->error(line);
  else if (level == 4) target->log->warning(line);
  else if (level <= 6) target->log->info(line);
  else target->log->debug(line);
}

/// Runs a plugin's hook inside a librdkafka callback: nothing may throw through C.
template <class Hook>
void guarded(callback_target& target, const char* what, Hook hook) {
  try {
    hook();
  } catch (const std::exception& e) {
    target.log->error(std::string("handling librdkafka's ") + what + " failed: " + e.what());
  } catch (...) {
    target.log->error(std::string("handling librdkafka's ") + what + " failed");
  }
}

void on_error(rd_kafka_t* rk, int err, const char* reason, void* opaque) {
  auto* target = static_cast<callback_target*>(opaque);
  std::string line = std::string("Kafka: ") + reason;
  if (err == RD_KAFKA_RESP_ERR__FATAL) {
    char why[512];
    rd_kafka_fatal_error(rk, why, sizeof why);
    target->log->error(line + " (fatal: " + why + ")");
  } else if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN && !target->events.error) {
    target->log->warning(line);  // with an error hook (broker_health), the hook judges whether it is an outage
  } else {
    target->log->debug(line);  // librdkafka's own log line has said it already
  }
  if (target->events.error)
    guarded(*target, "error", [&] { target->events.error(static_cast<rd_kafka_resp_err_t>(err), reason); });
}

int on_statistics(rd_kafka_t*, char* json, size_t length, void* opaque) {
  auto* target = static_cast<callback_target*>(opaque);
  guarded(*target, "statistics", [&] { target->events.statistics(std::string_view(json, length)); });
  return 0;  // librdkafka frees the text
}

void on_rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* partitions, void* opaque) {
  static_cast<callback_target*>(opaque)->events.rebalance(rk, err, partitions);
}

void on_delivery(rd_kafka_t*, const rd_kafka_message_t* message, void* opaque) {
  static_cast<callback_target*>(opaque)->events.delivery(*message);
}

void set_property(rd_kafka_conf_t* conf, const std::string& key, const std::string& value) {
  char why[512];
  if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), why, sizeof why) != RD_KAFKA_CONF_OK)
    throw option_error("properties", "librdkafka property '" + key + "': " + why);
}

std::string lower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

std::string property(const string_table& properties, const std::string& key) {
  const auto found = properties.find(key);
  return found == properties.end() ? std::string() : lower(found->second);
}

} // namespace

std::vector<transport_warning> transport_warnings(const string_table& properties) {
  const std::string protocol = property(properties, "security.protocol");
  const std::string mechanism_key = properties.count("sasl.mechanisms") ? "sasl.mechanisms" : "sasl.mechanism";
  const std::string mechanism = property(properties, mechanism_key);
  std::vector<transport_warning> warnings;
  if (protocol == "ssl" || protocol == "sasl_ssl") {
    if (is_false(property(properties, "enable.ssl.certificate.verification")))
      warnings.push_back({"enable.ssl.certificate.verification",
                          "enable.ssl.certificate.verification = false: the broker's certificate is not checked, so "
                          "anyone on the network path can pose as the broker and read what is sent to it"});
    if (property(properties, "ssl.endpoint.identification.algorithm") == "none")
      warnings.push_back({"ssl.endpoint.identification.algorithm",
                          "ssl.endpoint.identification.algorithm = none: any certificate your CA signed passes for "
                          "this broker, whatever host it was made for"});
  }
  const auto login = std::find_if(properties.begin(), properties.end(),
                                  [](const auto& entry) { return entry.first.rfind("sasl.", 0) == 0; });
  if (login != properties.end() && protocol != "sasl_ssl" && protocol != "sasl_plaintext")
    warnings.push_back({protocol.empty() ? login->first : "security.protocol",  // where the fix goes, if written
                        "sasl.* properties are set but security.protocol is " +
                            (protocol.empty() ? std::string("plaintext (the default)") : protocol) +
                            ": no login is made; set security.protocol = SASL_SSL"});
  if (protocol == "sasl_plaintext" && (mechanism == "plain" || mechanism == "oauthbearer"))
    warnings.push_back({mechanism_key, mechanism_key + " = " + properties.at(mechanism_key) +
                                           " over security.protocol = SASL_PLAINTEXT sends the credentials "
                                           "unencrypted; use SASL_SSL"});
  return warnings;
}

std::vector<option_spec> connection_options(const string_table& defaults) {
  return {
      optional_option("brokers", option_type::string, std::string("localhost:9092"),
                      "Kafka bootstrap servers, comma separated. \"embedded\" starts an in-memory broker in this "
                      "process, for trials: nothing is kept, and its address is logged."),
      optional_option("properties", option_type::string_table, string_table{},
                      "librdkafka properties, passed through as they are (any in librdkafka's CONFIGURATION.md). "
                      "Ours unless set here: " + describe_defaults(defaults) + "."),
  };
}

namespace {

// A port librdkafka would take as it is: "abc" became port 0, "99999" wrapped round to 34463.
std::string broker_problem(std::string broker) {
  broker.erase(0, broker.find_first_not_of(" \t"));
  broker.erase(broker.find_last_not_of(" \t") + 1);
  if (broker.empty()) return "an empty entry in the list";
  if (const std::size_t scheme = broker.find("://"); scheme != std::string::npos) broker.erase(0, scheme + 3);
  const std::size_t bracket = broker.rfind(']'), colon = broker.rfind(':');
  if (colon == std::string::npos || (bracket != std::string::npos && colon < bracket)) return {};  // the default port
  const std::string port = broker.substr(colon + 1);
  const bool digits = !port.empty() && port.size() <= 5 && port.find_first_not_of("0123456789") == std::string::npos;
  if (digits && std::stoi(port) >= 1 && std::stoi(port) <= 65535) return {};
  return "'" + broker + "' has no port from 1 to 65535 after its ':'";
}

} // namespace

connection::connection(stage_context& context, const string_table& defaults)
    : context_(context), settings_(rd_kafka_conf_new()), brokers_(context.options().string("brokers")) {
  string_table properties = defaults;
  properties["client.id"] = "stream-smarts-" + context.stage_name();
  for (const auto& [key, value] : context.options().table("properties")) {
    if (key == "bootstrap.servers" || key == "metadata.broker.list")
      throw option_error("properties", "set the brokers with the 'brokers' option, not '" + key + "'");
    properties[key] = value;
  }
  if (brokers_.empty()) throw option_error("brokers", "must name at least one broker (host:port) or be \"embedded\"");
  if (brokers_ != embedded_brokers)
    for (std::size_t at = 0; at <= brokers_.size();) {
      const std::size_t comma = std::min(brokers_.find(',', at), brokers_.size());
      if (const std::string problem = broker_problem(brokers_.substr(at, comma - at)); !problem.empty())
        throw option_error("brokers", "must be host:port, separated by commas: " + problem);
      at = comma + 1;
    }
  for (const auto& [key, value] : properties) set_property(settings_.get(), key, value);
  for (const auto& w : transport_warnings(properties)) context.warn_option("properties." + w.property, w.message);
}

connection::~connection() = default;

void connection::check_as_a_whole() const {
  for (const auto type : {RD_KAFKA_CONSUMER, RD_KAFKA_PRODUCER}) {
    conf_ptr conf{rd_kafka_conf_dup(settings_.get())};
    rd_kafka_conf_set_log_cb(conf.get(), [](const rd_kafka_t*, int, const char*, const char*) {});  // "no brokers"
    char why[512];
    rd_kafka_t* client = rd_kafka_new(type, conf.get(), why, sizeof why);
    if (client == nullptr) throw option_error("properties", std::string("librdkafka refuses them together: ") + why);
    conf.release();  // rd_kafka_new took it
    rd_kafka_destroy_flags(client, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
  }
}

client_ptr connection::make_client(rd_kafka_type_t type, client_events events) {
  if (brokers_ == embedded_brokers && !embedded_) {
    embedded_ = shared_embedded_cluster();
    context_.log().info("embedded Kafka broker (in memory, for trials only) at " + embedded_->bootstrap());
  }
  conf_ptr conf{rd_kafka_conf_dup(settings_.get())};
  set_property(conf.get(), "bootstrap.servers", embedded_ ? embedded_->bootstrap() : brokers_);
  auto& target = targets_.emplace_back(std::make_unique<callback_target>(callback_target{&context_.log(), std::move(events)}));
  rd_kafka_conf_set_opaque(conf.get(), target.get());
  rd_kafka_conf_set_log_cb(conf.get(), on_log);
  rd_kafka_conf_set_error_cb(conf.get(), on_error);
  if (target->events.rebalance) rd_kafka_conf_set_rebalance_cb(conf.get(), on_rebalance);
  if (target->events.delivery) rd_kafka_conf_set_dr_msg_cb(conf.get(), on_delivery);
  if (target->events.statistics) rd_kafka_conf_set_stats_cb(conf.get(), on_statistics);
  else set_property(conf.get(), "statistics.interval.ms", "0");  // unread, they would pile up in its queue
  char why[512];
  rd_kafka_t* client = rd_kafka_new(type, conf.get(), why, sizeof why);
  if (client == nullptr) throw std::runtime_error(std::string("cannot create a Kafka client: ") + why);
  conf.release();  // rd_kafka_new took it
  return client_ptr{client};
}

std::string connection::property(const char* key) const {
  char value[512];
  size_t size = sizeof value;
  return rd_kafka_conf_get(settings_.get(), key, value, &size) == RD_KAFKA_CONF_OK ? value : "";
}

bool is_false(const std::string& value) {
  const std::string text = lower(value);
  return text == "false" || text == "f" || text == "0";
}

std::string describe_position(const rd_kafka_message_t& m) {
  return std::string(m.rkt ? rd_kafka_topic_name(m.rkt) : "?") + " [" + std::to_string(m.partition) +
         "] at offset " + std::to_string(m.offset);
}

} // namespace stream_smarts::kafka
