# librebound: the classifier, the bounce reader and the log readers as one
# library other projects use through find_package(Rebound) and the target
# Rebound::rebound. Its interface is include/rebound/*.h; everything under
# src/ stays private (compiled with hidden visibility, only REBOUND_EXPORT
# declarations leave the shared object). The CLI and the tests keep linking
# the module libraries directly, since they use private headers.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(REBOUND_LIBRARY_MODULES rebound_core rebound_bounce rebound_logs)
# Position-independent and hidden by default, so the modules can be linked
# into the shared object.
set_target_properties(${REBOUND_LIBRARY_MODULES} PROPERTIES
  POSITION_INDEPENDENT_CODE ON CXX_VISIBILITY_PRESET hidden VISIBILITY_INLINES_HIDDEN ON)

add_library(rebound_library SHARED ${CMAKE_SOURCE_DIR}/src/version.cc)
add_library(Rebound::rebound ALIAS rebound_library)
target_compile_definitions(rebound_library PRIVATE REBOUND_VERSION="${PROJECT_VERSION}")
# Every object of the modules goes in (nothing in the library itself would
# pull them out of the archives); linking the modules too brings their own
# dependencies (vectorscan, toml++, zlib), which stay private.
foreach(module IN LISTS REBOUND_LIBRARY_MODULES)
  target_sources(rebound_library PRIVATE $<TARGET_OBJECTS:${module}>)
endforeach()
target_link_libraries(rebound_library PRIVATE ${REBOUND_LIBRARY_MODULES})
target_include_directories(rebound_library INTERFACE
  $<BUILD_INTERFACE:${CMAKE_SOURCE_DIR}/include> $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
target_compile_features(rebound_library INTERFACE cxx_std_20)
set_target_properties(rebound_library PROPERTIES
  OUTPUT_NAME rebound EXPORT_NAME rebound
  VERSION ${PROJECT_VERSION} SOVERSION ${PROJECT_VERSION_MAJOR}.${PROJECT_VERSION_MINOR})

# Install components, one per Debian package (cmake/package.cmake): library
# (the shared object), dev (headers, .so link, package config), rebound (the
# program and the service's files).
install(TARGETS rebound_library EXPORT ReboundTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT library NAMELINK_COMPONENT dev
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${CMAKE_SOURCE_DIR}/include/rebound DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        COMPONENT dev FILES_MATCHING PATTERN "*.h")
install(TARGETS rebound RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT rebound)

set(REBOUND_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/Rebound)
install(EXPORT ReboundTargets NAMESPACE Rebound:: DESTINATION ${REBOUND_CMAKE_DIR} COMPONENT dev)
configure_package_config_file(${CMAKE_SOURCE_DIR}/cmake/ReboundConfig.cmake.in
                              ${CMAKE_BINARY_DIR}/ReboundConfig.cmake INSTALL_DESTINATION ${REBOUND_CMAKE_DIR})
# 0.x: a new minor version may change the interface.
write_basic_package_version_file(${CMAKE_BINARY_DIR}/ReboundConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_BINARY_DIR}/ReboundConfig.cmake ${CMAKE_BINARY_DIR}/ReboundConfigVersion.cmake
        DESTINATION ${REBOUND_CMAKE_DIR} COMPONENT dev)

# Install into a temporary prefix, build examples/consumer against it, run it.
# Not under the sanitizers: an instrumented librebound needs an instrumented
# program.
if(BUILD_TESTING)
  add_test(NAME install_consumer
           COMMAND bash ${CMAKE_SOURCE_DIR}/tests/cli/install_consumer_test.sh ${CMAKE_BINARY_DIR} ${CMAKE_SOURCE_DIR})
  set_tests_properties(install_consumer PROPERTIES LABELS "no-sanitizer" TIMEOUT 300)
endif()
