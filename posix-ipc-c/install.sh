#!/usr/bin/env bash
# Installs the C and C++ library of posix-ipc:
#   PREFIX/include/posix_ipc.h, posix_ipc.hpp
#   PREFIX/lib/libposix_ipc.so.X.Y.Z (+ the soname and .so links), libposix_ipc.a
#   PREFIX/lib/pkgconfig/posix_ipc.pc
#   PREFIX/lib/cmake/posix_ipc/posix_ipc-config.cmake (+ -config-version.cmake)
#
# usage: posix-ipc-c/install.sh [--prefix DIR] [--profile release|debug] [--from DIR]
#   --prefix DIR    where to install (default /usr/local)
#   --profile P     build with cargo's profile P (default release), in $CARGO_TARGET_DIR or
#                   target/
#   --from DIR      take the built libraries from DIR (a cargo profile directory such as
#                   target/debug) instead of building them
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
prefix=/usr/local
profile=release
from=
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) prefix=$2; shift 2 ;;
    --from) from=$2; shift 2 ;;
    --profile) profile=$2; shift 2 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
if [ -z "$from" ]; then
  case "$profile" in
    release) (cd "$root" && cargo build --release -p posix-ipc-c) ;;
    debug) (cd "$root" && cargo build -p posix-ipc-c) ;;
    *) echo "install.sh: --profile is release or debug, not $profile" >&2; exit 2 ;;
  esac
  from="${CARGO_TARGET_DIR:-$root/target}/$profile"
fi
for f in libposix_ipc.so libposix_ipc.a; do
  [ -f "$from/$f" ] || { echo "install.sh: no $from/$f (build posix-ipc-c first)" >&2; exit 1; }
done
version=$(sed -n '/^\[workspace.package\]/,/^\[/s/^version = "\(.*\)"/\1/p' "$root/Cargo.toml")
major=${version%%.*}
minor=${version#*.}; minor=${minor%%.*}
if [ "$major" = 0 ]; then soname="libposix_ipc.so.0.$minor"; else soname="libposix_ipc.so.$major"; fi
# What a program linking the static library also needs (rustc --print native-static-libs).
native="-lgcc_s -lutil -lrt -lpthread -lm -ldl -lc"
native_cmake=$(echo "$native" | sed 's/-l//g; s/ /;/g')

mkdir -p "$prefix/include" "$prefix/lib/pkgconfig" "$prefix/lib/cmake/posix_ipc"
install -m 644 "$here/include/posix_ipc.h" "$here/include/posix_ipc.hpp" "$prefix/include/"
install -m 755 "$from/libposix_ipc.so" "$prefix/lib/libposix_ipc.so.$version"
ln -sf "libposix_ipc.so.$version" "$prefix/lib/$soname"
ln -sf "$soname" "$prefix/lib/libposix_ipc.so"
install -m 644 "$from/libposix_ipc.a" "$prefix/lib/libposix_ipc.a"
subst() {
  sed -e "s|@PREFIX@|$prefix|g" -e "s|@VERSION@|$version|g" -e "s|@MAJOR@|$major|g" \
      -e "s|@MINOR@|$minor|g" -e "s|@SONAME@|$soname|g" -e "s|@NATIVE_LIBS@|$native|g" \
      -e "s|@NATIVE_LIBS_CMAKE@|$native_cmake|g" "$1" > "$2"
}
subst "$here/posix_ipc.pc.in" "$prefix/lib/pkgconfig/posix_ipc.pc"
subst "$here/cmake/posix_ipc-config.cmake" "$prefix/lib/cmake/posix_ipc/posix_ipc-config.cmake"
subst "$here/cmake/posix_ipc-config-version.cmake" \
  "$prefix/lib/cmake/posix_ipc/posix_ipc-config-version.cmake"
echo "installed posix_ipc $version into $prefix"
