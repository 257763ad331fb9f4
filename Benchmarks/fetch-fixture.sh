# Sourced by fetch-bench.sh and fetch-ab.sh: their scratch folder and what they fetch.
# `fetch_fixture PREFIX` makes $work (/tmp/PREFIX-XXXXXX) with a private Nix (nix-scratch.sh),
# $store, and $image (a RAM file for the client's ext4, see fetch_ext4); on exit the seed
# started with `--state $work/...` is stopped, the ext4 unmounted and everything removed.
. Benchmarks/nix-scratch.sh

fetch_fixture() {
  work=$(mktemp -d "/tmp/$1-XXXXXX")
  image=/dev/shm/$(basename "$work").ext4
  trap fetch_fixture_cleanup EXIT
  nix_scratch "$work"
  store=$work/store
}

fetch_fixture_cleanup() {
  pkill -f "seed --state $work" 2>/dev/null || true
  if mountpoint -q "$work/ext4" 2>/dev/null; then umount "$work/ext4"; fi
  rm -f "$image" "$image.touch"
  chmod -R u+w "$work" 2>/dev/null
  rm -rf "$work"
}

# Writes FILE, a Nix file of issue 3's small-paths pair: `sameSize`, one path of SMALL_PATHS ×
# SMALL_KIB, and `many`, a toplevel over SMALL_PATHS paths of SMALL_KIB each (a directory with
# one file); EXTRA: more attribute lines (they may use `mk` and the others: the set is `rec`).
write_closures_nix() { # FILE SMALL_PATHS SMALL_KIB [EXTRA]
  cat > "$1" <<NIX
let $nix_builder
  small = i: mk "small-\${toString i}" "mkdir -p \$out; head -c $(($3 * 1024)) /dev/urandom > \$out/data";
  smalls = builtins.genList small $2;
in rec {
  sameSize = mk "same-size" "mkdir -p \$out; head -c $(($2 * $3 * 1024)) /dev/urandom > \$out/blob";
  many = mk "many" "mkdir -p \$out; echo \${toString smalls} > \$out/refs";
${4:-}
}
NIX
}

# Makes and mounts a 2 GiB ext4 with mke2fs defaults (a journal, as `rookery-agent layout` makes a
# client's root) on $image at $work/ext4, allocated up front as a disk's blocks are. Needs root.
fetch_ext4() {
  { fallocate -l 2G "$image" 2>/dev/null || truncate -s 2G "$image"; } && mkfs.ext4 -q -F "$image" \
    && mkdir -p "$work/ext4" && mount -o loop "$image" "$work/ext4"
}
