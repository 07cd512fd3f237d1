# install() rules and the CPack DEB generator: `make package` (or
# `cmake --build build --target package`) writes two Debian packages to
# <build>/packages:
#   bucky3            the agent (/usr/bin/bucky3, /usr/bin/bucky3-ring), its config
#                     (/etc/bucky3/bucky3.yaml, a conffile), the systemd unit, the
#                     `bucky3` system user and group (maintainer scripts), docs
#   bucky3-inspector  the Qt 6 app, its .desktop file and icon, so a server never
#                     pulls in Qt Widgets
# Included last from the root CMakeLists.txt: the targets are defined in other
# folders, each is packaged only if it exists in this build (if(TARGET)).
# docs/INSTALL.md is the operator's side of this file.

if(BUCKY3_FUZZ)
  return()  # a libFuzzer build ships nothing
endif()

include(GNUInstallDirs)

set(BUCKY3_PACKAGE_MAINTAINER "Bucky3 maintainers <maintainers@users.noreply.r-seed-33bb8508.example>"
  CACHE STRING "Maintainer: field of the Debian packages")
set(_deb_src ${PROJECT_SOURCE_DIR}/packaging/deb)
set(_deb_gen ${PROJECT_BINARY_DIR}/packaging)
file(MAKE_DIRECTORY ${_deb_gen})

# A packaged executable: the program, linked with full RELRO (lintian's
# hardening-no-bindnow; only these targets relink), and its manual page from
# docs/man, version filled in, gzip -9n as Debian wants it.
function(bucky3_package_program target component)
  target_link_options(${target} PRIVATE -Wl,-z,relro -Wl,-z,now)
  install(TARGETS ${target} RUNTIME DESTINATION bin COMPONENT ${component})
  set(page ${_deb_gen}/man/${target}.1)
  configure_file(${PROJECT_SOURCE_DIR}/docs/man/${target}.1 ${page} @ONLY)
  execute_process(COMMAND gzip -9nf ${page} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "packaging: gzip of ${page} failed")
  endif()
  install(FILES ${page}.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man1 COMPONENT ${component})
endfunction()

# ---------------------------------------------------------------- bucky3
foreach(_target bucky3 bucky3-ring)
  if(TARGET ${_target})
    bucky3_package_program(${_target} bucky3)
  else()
    message(STATUS "packaging: target ${_target} is not in this build, bucky3 package ships without it")
  endif()
endforeach()

# /etc/bucky3/bucky3.yaml: the built-in default (assets/bucky3.yaml) with the
# packaged header and `shm_group: bucky3` (the unit's Group=), so members of the
# group can run bucky3-ring and bucky3-inspector.
file(READ ${PROJECT_SOURCE_DIR}/assets/bucky3.yaml _yaml)
string(FIND "${_yaml}" "\n\n" _header_end)
if(_header_end LESS 0)
  message(FATAL_ERROR "packaging: assets/bucky3.yaml has no header paragraph to replace")
endif()
math(EXPR _header_end "${_header_end} + 1")
string(SUBSTRING "${_yaml}" ${_header_end} -1 _yaml)
string(REGEX REPLACE "\n# shm_group:[^\n]*\n"
  "\nshm_group: bucky3          # packaged: the unit's group; its members may run bucky3-ring and bucky3-inspector\n"
  _packaged "${_yaml}")
if(_packaged STREQUAL _yaml)
  message(FATAL_ERROR "packaging: no `# shm_group:` line in assets/bucky3.yaml to turn on")
endif()
file(READ ${_deb_src}/bucky3.yaml.header _header)
file(CONFIGURE OUTPUT ${_deb_gen}/bucky3.yaml CONTENT "${_header}${_packaged}" @ONLY)
install(FILES ${_deb_gen}/bucky3.yaml DESTINATION /etc/bucky3 COMPONENT bucky3)

# Debian bookworm keeps units in /lib/systemd/system (lintian: systemd-service-file-outside-lib).
install(FILES ${PROJECT_SOURCE_DIR}/assets/bucky3.service DESTINATION /lib/systemd/system COMPONENT bucky3)

# Docs: copyright and a Debian-format changelog.gz (a native package: the version has no
# Debian revision), the operator's pages uncompressed (the unit's Documentation= links them).
execute_process(COMMAND git -C ${PROJECT_SOURCE_DIR} log -1 --format=%aD
  OUTPUT_VARIABLE BUCKY3_DEB_DATE OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET RESULT_VARIABLE _git)
if(NOT _git EQUAL 0 OR BUCKY3_DEB_DATE STREQUAL "")
  string(TIMESTAMP BUCKY3_DEB_DATE "%a, %d %b %Y %H:%M:%S +0000" UTC)
endif()
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${BUCKY3_PACKAGE_MAINTAINER}")

function(bucky3_package_docs component package)
  set(BUCKY3_DEB_PACKAGE ${package})
  set(dir ${_deb_gen}/doc-${package})
  file(MAKE_DIRECTORY ${dir})
  configure_file(${_deb_src}/changelog.in ${dir}/changelog @ONLY)
  execute_process(COMMAND gzip -9nf ${dir}/changelog RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "packaging: gzip of ${dir}/changelog failed")
  endif()
  install(FILES ${dir}/changelog.gz ${_deb_src}/copyright
    DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/${package} COMPONENT ${component})
  if(EXISTS ${_deb_src}/${package}.lintian-overrides)  # each override says why it is there
    install(FILES ${_deb_src}/${package}.lintian-overrides
      DESTINATION ${CMAKE_INSTALL_DATADIR}/lintian/overrides RENAME ${package} COMPONENT ${component})
  endif()
endfunction()

bucky3_package_docs(bucky3 bucky3)
install(FILES ${PROJECT_SOURCE_DIR}/README.md ${PROJECT_SOURCE_DIR}/CHANGELOG.md
  ${PROJECT_SOURCE_DIR}/docs/INSTALL.md ${PROJECT_SOURCE_DIR}/docs/CONFIG.md
  DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/bucky3 COMPONENT bucky3)

# ------------------------------------------------------- bucky3-inspector
if(TARGET bucky3-inspector)
  bucky3_package_program(bucky3-inspector inspector)
  install(FILES ${PROJECT_SOURCE_DIR}/assets/bucky3-inspector.desktop
    DESTINATION ${CMAKE_INSTALL_DATADIR}/applications COMPONENT inspector)
  # The icon, as the inspector's assets/icons has it: scalable, and each PNG size.
  install(FILES ${PROJECT_SOURCE_DIR}/assets/icons/bucky3-inspector.svg
    DESTINATION ${CMAKE_INSTALL_DATADIR}/icons/hicolor/scalable/apps COMPONENT inspector)
  file(GLOB _pngs ${PROJECT_SOURCE_DIR}/assets/icons/bucky3-inspector-*.png)
  foreach(_png ${_pngs})
    string(REGEX REPLACE ".*-([0-9]+)\\.png$" "\\1" _size ${_png})
    install(FILES ${_png} RENAME bucky3-inspector.png
      DESTINATION ${CMAKE_INSTALL_DATADIR}/icons/hicolor/${_size}x${_size}/apps COMPONENT inspector)
  endforeach()
  bucky3_package_docs(inspector bucky3-inspector)
  set(_components bucky3 inspector)
else()
  message(STATUS "packaging: target bucky3-inspector is not in this build, no bucky3-inspector package")
  set(_components bucky3)
endif()

# ------------------------------------------------------------------ CPack
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME bucky3)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})  # the one version string: project(bucky3 VERSION ...)
set(CPACK_PACKAGE_VENDOR "The Bucky3 C++ authors")
set(CPACK_PACKAGE_DIRECTORY ${PROJECT_BINARY_DIR}/packages)
set(CPACK_PACKAGE_CHECKSUM SHA256)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL ${_components})
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # <name>_<version>_<arch>.deb
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)   # Depends: from the linked shared libraries (dpkg-shlibdeps)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS OFF)

set(CPACK_DEBIAN_BUCKY3_PACKAGE_NAME bucky3)
set(CPACK_DEBIAN_BUCKY3_PACKAGE_SECTION admin)
# adduser: the postinst creates the user; the shared libraries come from dpkg-shlibdeps.
set(CPACK_DEBIAN_BUCKY3_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_BUCKY3_PACKAGE_SUGGESTS "bucky3-inspector")
set(CPACK_COMPONENT_BUCKY3_DESCRIPTION
"host monitoring agent: StatsD, Linux and Docker metrics
Applications push StatsD lines (the DogStatsD dialect) to a local endpoint; the
agent also samples Linux and Docker containers, aggregates per flush interval,
tags every metric and hands batches through shared-memory rings to Prometheus,
InfluxDB and Graphite destinations. Ships the agent, bucky3-ring (status, top,
dump and replay of the rings in a terminal) and a hardened systemd unit running
as the bucky3 system user.")
set(CPACK_DEBIAN_BUCKY3_PACKAGE_CONTROL_EXTRA
  ${_deb_src}/postinst ${_deb_src}/prerm ${_deb_src}/postrm ${_deb_src}/conffiles)

set(CPACK_DEBIAN_INSPECTOR_PACKAGE_NAME bucky3-inspector)
set(CPACK_DEBIAN_INSPECTOR_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_INSPECTOR_PACKAGE_SUGGESTS "bucky3")
set(CPACK_COMPONENT_INSPECTOR_DESCRIPTION
"graphical inspector for the Bucky3 monitoring agent
A Qt 6 desktop application that attaches read-only to the shared-memory rings
and the health block of the Bucky3 agents on a host: module health, ring fill
and throughput, top talkers and a live metric browser with charts. It also
opens .b3dump capture files written by bucky3-ring dump.")

include(CPack)
