# stream_smarts_add_plugin(<name> SOURCES <files...> [LIBRARIES <targets...>]
#                          [OUTPUT_DIRECTORY <dir>] [NO_INSTALL])
#
# Builds a plugin as a shared object named lib<name>.so: in this project, into
# the plugin folder next to the runtime binary; out of tree (after
# find_package(StreamSmarts), which installs this file) into the plugin's own
# build folder, or OUTPUT_DIRECTORY. Copy the .so into any plugin folder.
function(stream_smarts_add_plugin name)
  cmake_parse_arguments(PLUGIN "NO_INSTALL" "OUTPUT_DIRECTORY" "SOURCES;LIBRARIES" ${ARGN})
  add_library(${name} MODULE ${PLUGIN_SOURCES})
  target_link_libraries(${name} PRIVATE StreamSmarts::sdk ${PLUGIN_LIBRARIES})
  # Only the three entry points are exported; everything else stays private to
  # the plugin so two plugins never clash over a symbol.
  set_target_properties(${name} PROPERTIES
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
  # A symbol nothing provides fails the link, not the load ("undefined symbol:
  # _Z24..." from every command). Not under sanitizers: their runtimes are the process's.
  set(flags "${CMAKE_CXX_FLAGS} ${CMAKE_SHARED_LINKER_FLAGS} ${CMAKE_MODULE_LINKER_FLAGS}")
  if(NOT STREAM_SMARTS_SANITIZE AND NOT flags MATCHES "-fsanitize")
    target_link_options(${name} PRIVATE "LINKER:-z,defs")
  endif()
  if(PLUGIN_OUTPUT_DIRECTORY)
    set_target_properties(${name} PROPERTIES LIBRARY_OUTPUT_DIRECTORY "${PLUGIN_OUTPUT_DIRECTORY}")
  elseif(DEFINED STREAM_SMARTS_PLUGIN_OUTPUT_DIR)
    set_target_properties(${name} PROPERTIES LIBRARY_OUTPUT_DIRECTORY "${STREAM_SMARTS_PLUGIN_OUTPUT_DIR}")
  endif()
  if(STREAM_SMARTS_IN_TREE AND NOT PLUGIN_NO_INSTALL)
    install(TARGETS ${name} LIBRARY DESTINATION "${STREAM_SMARTS_PLUGIN_SUBDIR}" COMPONENT plugins)
  endif()
endfunction()
