# The fuzz targets, built by tests/fuzz/run (not meant to be run by hand):
#   make -f tests/fuzz/targets.mk ROOT=<repo> OUT=<dir> CXX_FUZZ=clang++ bin/<target>...
# Every source is compiled once with the same flags (libFuzzer's coverage,
# ASan, UBSan) into OUT/obj, with dependency files, so a rebuild after an
# edit compiles only what changed. toml++ is the shipped library
# (libtomlplusplus.so, built by Debian with GCC), not its header-only form:
# toml++ 3.3's headers assert on '[' followed by a character that cannot
# start a key, and reach __builtin_unreachable() on U+00A1-U+0499 and
# U+2F4E-U+3347 where whitespace may stand; the shipped library reports
# both as syntax errors (docs/reliability.md), and that is what we fuzz.
THIS := $(abspath $(lastword $(MAKEFILE_LIST)))
ROOT ?= $(abspath $(dir $(THIS))/../..)
OUT ?= fuzz-build
CXX_FUZZ ?= clang++

SANITIZE := -fsanitize=address,undefined -fno-sanitize-recover=undefined
CXXFLAGS := -std=c++20 -O1 -g -fno-omit-frame-pointer $(SANITIZE) -fsanitize=fuzzer-no-link \
  -I$(ROOT)/runtime/include -I$(ROOT)/runtime/src -I$(ROOT)/plugins \
  -I$(ROOT)/plugins/sources/kafka -I$(ROOT)/plugins/sources/replay \
  -I$(ROOT)/plugins/scorers/percentile_band -I$(ROOT)/plugins/scorers/sustained_load \
  -I$(ROOT)/plugins/scorers/dlib_regression -I$(ROOT)/plugins/scorers/power_step \
  -DTOML_HEADER_ONLY=0 -DTOML_SHARED_LIB=1 -DUSE_OS_TZDB=1 -DHAS_STRING_VIEW=1 -DONLY_C_LOCALE=1 \
  -DSTREAM_SMARTS_PLUGIN_DIR_FROM_BIN='"../lib/stream-smarts/plugins"' -DSTREAM_SMARTS_VERSION='"fuzz"'
LDFLAGS := $(SANITIZE) -fsanitize=fuzzer

obj = $(patsubst %,$(OUT)/obj/%.o,$(1))

# target: its sources (relative to ROOT) and libraries.
avro_decoder_SRC := tests/fuzz/avro_decoder_fuzz.cpp plugins/sources/kafka/avro_decoder.cpp
avro_decoder_LIBS := -lavro
json_reading_SRC := tests/fuzz/json_reading_fuzz.cpp plugins/sources/kafka/json_decoder.cpp \
  plugins/sources/kafka/reading_mapping.cpp runtime/src/zone.cpp
json_reading_LIBS := -ldate-tz
replay_SRC := tests/fuzz/replay_fuzz.cpp runtime/src/zone.cpp
replay_LIBS := -ldate-tz
band_model_SRC := tests/fuzz/band_model_fuzz.cpp plugins/scorers/percentile_band/band_model.cpp
band_model_LIBS := -ltomlplusplus
sustained_model_SRC := tests/fuzz/sustained_model_fuzz.cpp plugins/scorers/sustained_load/sustained_model.cpp
sustained_model_LIBS := -ltomlplusplus
power_step_model_SRC := tests/fuzz/power_step_model_fuzz.cpp plugins/scorers/power_step/step_model.cpp
power_step_model_LIBS := -ltomlplusplus
dlib_model_SRC := tests/fuzz/dlib_model_fuzz.cpp plugins/scorers/dlib_regression/envelope_model.cpp \
  plugins/scorers/dlib_regression/model_file.cpp
dlib_model_LIBS := -ldlib -llapack -lblas
pipeline_SRC := tests/fuzz/pipeline_fuzz.cpp $(addprefix runtime/src/,pipeline_file.cpp schema.cpp \
  plugin_registry.cpp crash_report.cpp zone.cpp alert_policy.cpp diagnostics.cpp metrics.cpp log.cpp)
pipeline_LIBS := -ltomlplusplus -lboost_filesystem -ldate-tz -ldl

TARGETS := avro_decoder json_reading replay band_model sustained_model power_step_model dlib_model pipeline
PLUGIN_DIR := $(OUT)/lib/stream-smarts/plugins
PIPELINE_PLUGINS := $(PLUGIN_DIR)/fuzz_source.so $(PLUGIN_DIR)/fuzz_scorer.so $(PLUGIN_DIR)/fuzz_sink.so

.PHONY: all
all: $(addprefix bin/,$(TARGETS))

# bin/<target> is phony-ish: it names $(OUT)/bin/<target>.
define target_rule
.PHONY: bin/$(1)
bin/$(1): $(OUT)/bin/$(1)
$(OUT)/bin/$(1): $(call obj,$($(1)_SRC))
	@mkdir -p $$(@D)
	$(CXX_FUZZ) $(LDFLAGS) $$^ $($(1)_LIBS) -o $$@
endef
$(foreach t,$(TARGETS),$(eval $(call target_rule,$(t))))

# The pipeline target loads its three plugins from beside the binary, as
# stream-smarts does (../lib/stream-smarts/plugins).
bin/pipeline: $(PIPELINE_PLUGINS)
$(PLUGIN_DIR)/fuzz_%.so: $(ROOT)/tests/fuzz/pipeline_plugins.cpp $(THIS)
	@mkdir -p $(@D)
	$(CXX_FUZZ) -std=c++20 -O1 -fPIC -shared -fvisibility=hidden -I$(ROOT)/runtime/include -MMD -MP -MT $@ -MF $@.d \
	  -DFUZZ_KIND=$(if $(filter source,$*),0,$(if $(filter scorer,$*),1,2)) $< -o $@

# Flags live here: an edit of this file rebuilds everything. -MT keeps each
# dependency file's target as make names it: ccache with CCACHE_BASEDIR
# would write it relative, a file make never asks about, and a header
# edit would then rebuild nothing.
$(OUT)/obj/%.cpp.o: $(ROOT)/%.cpp $(THIS)
	@mkdir -p $(@D)
	$(CXX_FUZZ) $(CXXFLAGS) -MMD -MP -MT $@ -c $< -o $@

# The SDK headers too: a plugin built against an older ABI would be refused.
-include $(shell find $(OUT)/obj $(PLUGIN_DIR) -name '*.d' 2>/dev/null)
