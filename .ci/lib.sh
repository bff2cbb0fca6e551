# shellcheck shell=bash
# Shared checks for ./d4, ./run-tests and .ci/run. Source it; it defines
# functions and a few variables only, and runs nothing on its own.
#
# Callers set D4_LOG_PREFIX (e.g. "d4") before using the functions.
# Every message goes to stderr so the callers' stdout stays clean.

: "${D4_LOG_PREFIX:=d4}"

d4_log() { printf '%s: %s\n' "$D4_LOG_PREFIX" "$*" >&2; }
d4_die() { d4_log "$@"; exit 1; }

d4_is_root() { [ "$(id -u)" = 0 ]; }

# True when this process may install Debian packages itself.
d4_can_install() { d4_is_root && command -v apt-get >/dev/null 2>&1; }

# ---------------------------------------------------------------- Java ----

D4_JAVA_MIN=25

# Prints the major version of the java launcher $1 (e.g. 25), or nothing.
d4_java_major() {
    local java=$1 home line v
    [ -x "$java" ] || return 0
    # Fast path: a JDK/JRE image's "release" file states the version without
    # starting a JVM (java -version costs ~100 ms on every d4 invocation).
    home=$(dirname "$(dirname "$(readlink -f "$java")")")
    if [ -r "$home/release" ]; then
        line=$(grep -m1 '^JAVA_VERSION=' "$home/release" 2>/dev/null || true)
        if [ -n "$line" ]; then
            v=${line#JAVA_VERSION=}
            v=${v//\"/}
        fi
    fi
    if [ -z "${v:-}" ]; then
        # Slow path: ask the launcher. The version line looks like
        #   openjdk version "25.0.3" 2026-04-21 LTS   or   java version "1.8.0_402"
        # and may follow "Picked up JAVA_TOOL_OPTIONS: ..." lines.
        while IFS= read -r line; do
            case $line in
                *' version "'*) v=${line#*\"}; v=${v%%\"*}; break ;;
            esac
        done < <("$java" -version 2>&1 || true)
    fi
    [ -n "${v:-}" ] || return 0
    case $v in 1.*) v=${v#1.} ;; esac          # 1.8.0 -> 8
    v=${v%%[!0-9]*}                             # 25.0.3 / 26-ea -> 25 / 26
    [ -n "$v" ] && printf '%s\n' "$v"
    return 0
}

# d4_java_ok JAVA [--jdk]: true when JAVA is Java >= 25 (and, with --jdk, sits
# in a full JDK with javac next to it, which building needs).
d4_java_ok() {
    local java=$1 major
    [ -x "$java" ] || return 1
    if [ "${2:-}" = --jdk ] && [ ! -x "$(dirname "$java")/javac" ]; then
        return 1
    fi
    major=$(d4_java_major "$java")
    [ -n "$major" ] && [ "$major" -ge "$D4_JAVA_MIN" ]
}

# d4_find_java [--jdk]: sets D4_JAVA (the java launcher) and D4_JAVA_HOME.
# Order: $JAVA_HOME, /usr/lib/jvm/temurin-25*, the other /usr/lib/jvm/*,
# then `java` on PATH. Returns 1 when none is Java 25+.
d4_find_java() {
    local want=${1:-} cand home
    local -a cands=()
    [ -n "${JAVA_HOME:-}" ] && cands+=("$JAVA_HOME/bin/java")
    for cand in /usr/lib/jvm/temurin-25*/bin/java /usr/lib/jvm/*/bin/java; do
        [ -e "$cand" ] && cands+=("$cand")
    done
    if cand=$(command -v java 2>/dev/null); then cands+=("$cand"); fi
    for cand in ${cands[@]+"${cands[@]}"}; do
        if d4_java_ok "$cand" "$want"; then
            cand=$(readlink -f "$cand")
            home=$(dirname "$(dirname "$cand")")
            D4_JAVA=$cand
            D4_JAVA_HOME=$home
            return 0
        fi
    done
    return 1
}

# d4_require_java [--jdk]: d4_find_java or exit 1 saying what to install.
d4_require_java() {
    local found="" major
    d4_find_java "$@" && return 0
    if [ -n "${JAVA_HOME:-}" ]; then
        major=$(d4_java_major "$JAVA_HOME/bin/java")
        if [ -n "$major" ]; then
            found=" (JAVA_HOME=$JAVA_HOME is Java $major)"
        else
            found=" (JAVA_HOME=$JAVA_HOME has no usable bin/java)"
        fi
    fi
    if [ "${1:-}" = --jdk ]; then
        d4_die "building d4 needs a Java ${D4_JAVA_MIN} JDK${found}: install Temurin ${D4_JAVA_MIN} (https://adoptium.net, Debian/Ubuntu package temurin-${D4_JAVA_MIN}-jdk) or set JAVA_HOME to one"
    fi
    d4_die "needs Java ${D4_JAVA_MIN}${found}: install Temurin ${D4_JAVA_MIN} (https://adoptium.net, Debian/Ubuntu package temurin-${D4_JAVA_MIN}-jdk) or set JAVA_HOME"
}

# ---------------------------------------------------- native libraries ----

D4_LDCACHE=""
D4_LDCACHE_READ=0

# d4_have_lib SONAME: is the shared library in the loader cache (or, without
# ldconfig, in a usual library directory)?
d4_have_lib() {
    local name=$1 ldc d
    if [ "$D4_LDCACHE_READ" = 0 ]; then
        # Read the cache once into a variable: `ldconfig -p | grep -q` under
        # pipefail can fail spuriously when grep exits early (SIGPIPE).
        for ldc in ldconfig /sbin/ldconfig /usr/sbin/ldconfig; do
            if command -v "$ldc" >/dev/null 2>&1; then
                D4_LDCACHE=$("$ldc" -p 2>/dev/null || true)
                break
            fi
        done
        D4_LDCACHE_READ=1
    fi
    if [ -n "$D4_LDCACHE" ]; then
        [[ $D4_LDCACHE == *"$name "* ]] && return 0
    fi
    for d in /lib /lib64 /usr/lib /usr/lib64 /lib/*-linux-gnu /usr/lib/*-linux-gnu /usr/local/lib; do
        [ -e "$d/$name" ] && return 0
    done
    return 1
}

d4_ldcache_forget() { D4_LDCACHE=""; D4_LDCACHE_READ=0; }

# d4_pkg_present PKG: is what d4 needs from Debian package PKG there?
d4_pkg_present() {
    case $1 in
        libfuse2)  d4_have_lib libfuse.so.2 ;;
        fuse3)     command -v fusermount >/dev/null 2>&1 || command -v fusermount3 >/dev/null 2>&1 ;;
        liburing2) d4_have_lib liburing.so.2 ;;
        maven)     command -v mvn >/dev/null 2>&1 ;;
        fio)       command -v fio >/dev/null 2>&1 ;;
        *)         [[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true) == *'ok installed'* ]] ;;
    esac
}

# What to tell the user when an optional package is missing.
d4_pkg_note() {
    case $1 in
        liburing2) echo "liburing.so.2 not found: d4 will use its FileChannel drive instead of io_uring (sudo apt-get install liburing2)" ;;
        fio)       echo "fio not found: the fio benchmarks cannot run (sudo apt-get install fio)" ;;
        *)         echo "$1 not installed (sudo apt-get install $1)" ;;
    esac
}

# The apt name for PKG on this system: Ubuntu 24.04+ renamed libfuse2 to
# libfuse2t64 (plain libfuse2 is only a virtual package there).
d4_apt_name() {
    if [ "$1" = libfuse2 ] && command -v apt-cache >/dev/null 2>&1 \
        && ! d4_apt_has_candidate libfuse2 && d4_apt_has_candidate libfuse2t64; then
        echo libfuse2t64
    else
        echo "$1"
    fi
}

# d4_apt_has_candidate PKG: does apt know an installable version of PKG?
d4_apt_has_candidate() {
    local policy
    policy=$(apt-cache policy "$1" 2>/dev/null || true)
    [[ $policy == *"Candidate: "[0-9]* ]]
}

# d4_apt_install PKG...: apt-get install as root, quietly; runs
# `apt-get update` first only when the plain install fails. Output is shown
# only on failure. Returns apt-get's status.
d4_apt_install() {
    local log pkg rc=0
    local -a pkgs=()
    for pkg in "$@"; do pkgs+=("$(d4_apt_name "$pkg")"); done
    d4_log "installing ${pkgs[*]} (apt-get install -y -q ${pkgs[*]})"
    log=$(mktemp "${TMPDIR:-/tmp}/d4-apt.XXXXXX")
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${pkgs[@]}" >"$log" 2>&1; then
        if ! { DEBIAN_FRONTEND=noninteractive apt-get update -q \
                && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${pkgs[@]}"; } >>"$log" 2>&1; then
            rc=1
            cat "$log" >&2
            d4_log "apt-get install ${pkgs[*]} failed (output above)"
        fi
    fi
    rm -f "$log"
    d4_ldcache_forget
    return "$rc"
}

# d4_ensure_packages REQUIRED... [-- OPTIONAL...]
# When root with apt-get, missing required packages are installed, together
# with any missing optional ones; optional ones alone are installed only when
# D4_INSTALL_OPTIONAL=1 (./run-tests), so that ./d4 never runs apt-get on
# every invocation for a package the release may not even have. Otherwise:
# exit 1 naming the command to run if a required package is missing, and
# print a one-line note for each missing optional one.
d4_ensure_packages() {
    local pkg opt=0
    local -a req_missing=() opt_missing=() still=()
    for pkg in "$@"; do
        if [ "$pkg" = -- ]; then opt=1; continue; fi
        d4_pkg_present "$pkg" && continue
        if [ "$opt" = 1 ]; then opt_missing+=("$pkg"); else req_missing+=("$pkg"); fi
    done
    [ "${#req_missing[@]}" -eq 0 ] && [ "${#opt_missing[@]}" -eq 0 ] && return 0

    if d4_can_install && { [ "${#req_missing[@]}" -gt 0 ] || [ "${D4_INSTALL_OPTIONAL:-0}" = 1 ]; }; then
        if ! d4_apt_install ${req_missing[@]+"${req_missing[@]}"} ${opt_missing[@]+"${opt_missing[@]}"} \
            && [ "${#opt_missing[@]}" -gt 0 ] && [ "${#req_missing[@]}" -gt 0 ]; then
            # An optional package may simply not exist on this release
            # (e.g. liburing2 on older ones): retry with the required ones.
            d4_apt_install "${req_missing[@]}" || true
        fi
        for pkg in ${req_missing[@]+"${req_missing[@]}"}; do
            d4_pkg_present "$pkg" || still+=("$pkg")
        done
        if [ "${#still[@]}" -gt 0 ]; then
            d4_die "still missing after apt-get: ${still[*]}"
        fi
        for pkg in ${opt_missing[@]+"${opt_missing[@]}"}; do
            d4_pkg_present "$pkg" || d4_log "$(d4_pkg_note "$pkg")"
        done
        return 0
    fi

    if [ "${#req_missing[@]}" -gt 0 ]; then
        local hint=""
        [[ " ${req_missing[*]} " == *" libfuse2 "* ]] && hint="  (Ubuntu 24.04+ calls libfuse2 libfuse2t64)"
        d4_die "missing packages: ${req_missing[*]}. Install them with:  sudo apt-get install ${req_missing[*]}${opt_missing[*]:+ ${opt_missing[*]}}${hint}"
    fi
    for pkg in ${opt_missing[@]+"${opt_missing[@]}"}; do d4_log "$(d4_pkg_note "$pkg")"; done
    return 0
}

# The FUSE runtime: libfuse.so.2 (jnr-fuse), fusermount (fuse3; never the old
# `fuse` package, which conflicts with it), and optionally liburing.so.2.
d4_ensure_natives() { d4_ensure_packages libfuse2 fuse3 -- liburing2; }
