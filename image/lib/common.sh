# Shared helpers for image/build.sh and scripts/test-image (sourced, bash).

say() { printf '%s image: %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf 'image: error: %s\n' "$*" >&2; exit 1; }

# The Debian mirror the build host's apt already uses (for bookworm, main), so
# the image comes from the same place as the host's packages. Reads deb822
# files in sources.list.d first, then one-line sources.list files. Prints the
# URI; KDS_IMAGE_MIRROR overrides.
host_debian_mirror() {
  if [ -n "${KDS_IMAGE_MIRROR:-}" ]; then
    echo "$KDS_IMAGE_MIRROR"
    return
  fi
  local f uri
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    # One stanza per paragraph: pick the first whose Suites has exactly `bookworm`.
    uri=$(awk '
      BEGIN { RS = ""; FS = "\n" }
      {
        types = ""; uris = ""; suites = ""
        for (i = 1; i <= NF; i++) {
          line = $i
          if (line ~ /^[ \t]*#/) continue
          if (line ~ /^Types:/) { sub(/^Types:[ \t]*/, "", line); types = line }
          if (line ~ /^URIs:/) { sub(/^URIs:[ \t]*/, "", line); uris = line }
          if (line ~ /^Suites:/) { sub(/^Suites:[ \t]*/, "", line); suites = " " line " " }
        }
        if (types ~ /(^| )deb( |$)/ && suites ~ / bookworm / && uris != "") {
          split(uris, u, /[ \t]+/); print u[1]; exit
        }
      }' "$f")
    if [ -n "$uri" ]; then
      echo "$uri"
      return
    fi
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    uri=$(awk '$1 == "deb" {
        i = 2; if ($2 ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
        if ($(i + 1) == "bookworm") { print $i; exit }
      }' "$f")
    if [ -n "$uri" ]; then
      echo "$uri"
      return
    fi
  done
  die "no Debian bookworm mirror found in the host's apt sources; set KDS_IMAGE_MIRROR"
}

# Sizes and offsets of the disk layout, in 512-byte sectors.
SECTOR=512
MIB=2048 # sectors per MiB
