# Sourced by the install-deps scripts: installs the Debian packages they found missing (as root),
# or with --check only names them.
#
#   apt_missing <who> <the script's first argument> <package...>   returns 1 when some stay missing
apt_missing() {
  local who=$1 mode=$2
  shift 2
  [ $# -eq 0 ] && return 0
  if [ "$mode" = --check ]; then
    echo "$who: missing $*" >&2
    return 1
  fi
  if [ "$(id -u)" -ne 0 ]; then
    echo "$who: missing $*; run as root or install them" >&2
    return 1
  fi
  echo "$who: installing $*" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt_install() { apt-get install -y -q -o DPkg::Lock::Timeout=600 --no-install-recommends "$@" >/dev/null; }
  apt_install "$@" 2>/dev/null || { apt-get update -qq && apt_install "$@"; }
}
