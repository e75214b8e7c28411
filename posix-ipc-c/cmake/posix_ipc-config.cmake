# find_package(posix_ipc) gives the imported targets
#   posix_ipc::posix_ipc         the shared library (libposix_ipc.so), headers posix_ipc.h and
#                                posix_ipc.hpp (C11 / C++17)
#   posix_ipc::posix_ipc_static  the static library (libposix_ipc.a) and what it needs
# installed by posix-ipc-c/install.sh. The paths are taken from where this file is, so the
# installed tree may be moved.
get_filename_component(_posix_ipc_prefix "${CMAKE_CURRENT_LIST_DIR}/../../.." ABSOLUTE)

if(NOT TARGET posix_ipc::posix_ipc)
  add_library(posix_ipc::posix_ipc SHARED IMPORTED)
  set_target_properties(posix_ipc::posix_ipc PROPERTIES
    IMPORTED_LOCATION "${_posix_ipc_prefix}/lib/libposix_ipc.so.@VERSION@"
    IMPORTED_SONAME "@SONAME@"
    INTERFACE_INCLUDE_DIRECTORIES "${_posix_ipc_prefix}/include")
endif()

if(NOT TARGET posix_ipc::posix_ipc_static)
  add_library(posix_ipc::posix_ipc_static STATIC IMPORTED)
  set_target_properties(posix_ipc::posix_ipc_static PROPERTIES
    IMPORTED_LOCATION "${_posix_ipc_prefix}/lib/libposix_ipc.a"
    INTERFACE_INCLUDE_DIRECTORIES "${_posix_ipc_prefix}/include"
    INTERFACE_LINK_LIBRARIES "@NATIVE_LIBS_CMAKE@")
endif()

set(posix_ipc_INCLUDE_DIRS "${_posix_ipc_prefix}/include")
set(posix_ipc_LIBRARIES posix_ipc::posix_ipc)
unset(_posix_ipc_prefix)
