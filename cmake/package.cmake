# The Debian packages, made by CPack from this build tree (scripts/package):
#   rebound            the CLI and the service: binary (rule base embedded),
#                      systemd unit, /etc/rebound/rebound.toml, man pages,
#                      bash completion;
#   librebound<major.minor>  the shared library of include/rebound;
#   librebound-dev     its headers, the .so link and the CMake package config.
# Run-time dependencies come from dpkg-shlibdeps (CPACK_DEBIAN_PACKAGE_SHLIBDEPS),
# never by hand. Packaging the tree the test suite ran on means the package
# holds the binary that was tested.
include(GNUInstallDirs)

set(REBOUND_DEB_RELEASE 1 CACHE STRING "Debian revision of the packages (the part after the upstream version)")
set(REBOUND_DEB_VERSION "${PROJECT_VERSION}-${REBOUND_DEB_RELEASE}")
set(REBOUND_LIBRARY_PACKAGE "librebound${PROJECT_VERSION_MAJOR}.${PROJECT_VERSION_MINOR}")
set(packaging ${CMAKE_SOURCE_DIR}/packaging)
set(staged ${CMAKE_BINARY_DIR}/packaging)

# The default config: every key of the key table, commented out, except where
# a packaged service must differ from a build-tree run.
add_custom_command(
  OUTPUT ${staged}/rebound.toml
  COMMAND ${CMAKE_COMMAND} -E make_directory ${staged}
  COMMAND $<TARGET_FILE:rebound> config defaults --commented
          --set server.data_dir=/var/lib/rebound --set server.log=journal > ${staged}/rebound.toml
  DEPENDS rebound
  COMMENT "Writing the packaged rebound.toml from the config key table"
  VERBATIM)

# Debian wants a changelog and a copyright file in every package's doc dir.
configure_file(${packaging}/debian/changelog.in ${staged}/changelog.Debian @ONLY)
add_custom_command(
  OUTPUT ${staged}/changelog.Debian.gz
  COMMAND gzip -9nc ${staged}/changelog.Debian > ${staged}/changelog.Debian.gz
  DEPENDS ${staged}/changelog.Debian
  VERBATIM)
add_custom_target(rebound_package_files ALL DEPENDS ${staged}/rebound.toml ${staged}/changelog.Debian.gz)

install(FILES ${staged}/rebound.toml DESTINATION ${CMAKE_INSTALL_FULL_SYSCONFDIR}/rebound COMPONENT rebound)
# /lib, not /usr/lib: Debian 12 still ships units there (merged /usr or not).
install(FILES ${packaging}/rebound.service DESTINATION /lib/systemd/system COMPONENT rebound)
foreach(component_package IN ITEMS "rebound;rebound" "library;${REBOUND_LIBRARY_PACKAGE}" "dev;librebound-dev")
  list(GET component_package 0 component)
  list(GET component_package 1 package)
  install(FILES ${packaging}/debian/copyright ${staged}/changelog.Debian.gz
          DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/doc/${package} COMPONENT ${component})
endforeach()

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME rebound)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "Rebound developers")
set(CPACK_PACKAGE_CONTACT "Rebound developers <packaging@rebound.example.org>")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_PACKAGE_DIRECTORY ${CMAKE_BINARY_DIR}/cpack)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL rebound library dev)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_RELEASE ${REBOUND_DEB_RELEASE})
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

set(CPACK_DEBIAN_REBOUND_PACKAGE_NAME rebound)
set(CPACK_DEBIAN_REBOUND_PACKAGE_SECTION mail)
set(CPACK_DEBIAN_REBOUND_PACKAGE_DEPENDS "adduser, procps")  # postinst; the unit's ExecReload (/bin/kill)
set(CPACK_DEBIAN_REBOUND_PACKAGE_CONTROL_EXTRA
    ${packaging}/debian/conffiles ${packaging}/debian/postinst ${packaging}/debian/prerm ${packaging}/debian/postrm)
set(CPACK_COMPONENT_REBOUND_DESCRIPTION "email return codes made actionable: classifier, bounce reader, sending relay
Rebound reads SMTP replies, bounce emails (RFC 3464 DSNs, ARF complaints and
the non-standard notices of real MTAs and providers) and MTA logs, and says
what each means: retry, stop, suppress the address, fix SPF, get an IP
delisted, slow down.

It also runs as a sending service (rebound serve, a systemd unit): SMTP
submission with accounts and limits, a durable queue, MX delivery that
retries, bounces and throttles by what receivers answer, DKIM signing,
an HTTP API, webhooks and Prometheus metrics.")

set(CPACK_DEBIAN_LIBRARY_PACKAGE_NAME ${REBOUND_LIBRARY_PACKAGE})
set(CPACK_DEBIAN_LIBRARY_PACKAGE_SECTION libs)
# dpkg's control file must be named `triggers`: copied under that name.
configure_file(${packaging}/debian/library.triggers ${staged}/library/triggers COPYONLY)
set(CPACK_DEBIAN_LIBRARY_PACKAGE_CONTROL_EXTRA ${staged}/library/triggers)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS_POLICY ">=")
set(CPACK_COMPONENT_LIBRARY_DESCRIPTION "email return codes made actionable - shared library
librebound classifies SMTP replies and reads bounce emails and MTA logs
into per-recipient verdicts (category, permanence, action, retry hint).

This package holds the shared library.")

set(CPACK_DEBIAN_DEV_PACKAGE_NAME librebound-dev)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS "${REBOUND_LIBRARY_PACKAGE} (= ${REBOUND_DEB_VERSION})")
set(CPACK_COMPONENT_DEV_DESCRIPTION "email return codes made actionable - development files
librebound classifies SMTP replies and reads bounce emails and MTA logs
into per-recipient verdicts (category, permanence, action, retry hint).

This package holds the headers, the link-time library and the CMake
package configuration (find_package(Rebound), target Rebound::rebound).")

include(CPack)
